package apitoken

import (
	"encoding/json"
)

// adaptLegacy is warehouse/macaroons/caveats/_legacy.py adapt: a caveat of
// the original mapping format becomes the array of today's caveat, or nil
// (which deserialize_obj reports as "caveat must be an array").
//
//	{"version": 1, "permissions": "user"}             → [3, <the request's user id>]
//	{"version": 1, "permissions": {"projects": [...]}} → [1, [...]]
//	{"exp": E, "nbf": N}                               → [0, E, N]
//	{"project_ids": [...]}                             → [2, [...]]
//
// user is the request's user (nil for a trusted publisher's request): a
// v1 "user" caveat names no user, it means whoever the token belongs to.
func adaptLegacy(m map[string]any, user *User) any {
	if pyEqualsOne(m["version"]) {
		perms, ok := m["permissions"]
		if !ok || perms == nil {
			return nil
		}
		if perms == "user" {
			if user == nil {
				return nil
			}
			return []any{json.Number("3"), user.ID}
		}
		if pm, ok := perms.(map[string]any); ok {
			if projects, ok := pm["projects"]; ok {
				return []any{json.Number("1"), projects}
			}
		}
		return nil
	}
	exp, hasExp := m["exp"]
	nbf, hasNbf := m["nbf"]
	if hasExp && hasNbf {
		return []any{json.Number("0"), exp, nbf}
	}
	if ids, ok := m["project_ids"]; ok {
		return []any{json.Number("2"), ids}
	}
	return nil
}

// pyEqualsOne is Python's v == 1 for a decoded JSON value (1, 1.0 and
// true are all equal to 1).
func pyEqualsOne(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 1
	}
	return false
}
