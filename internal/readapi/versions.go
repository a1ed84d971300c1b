package readapi

import (
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/lazyregexp"
)

// basicVersions is the fallback VersionRules: it understands normalized PEP
// 440 strings without epoch or local part (N(.N)*[{a|b|rc}N][.postN][.devN]),
// which is what the upload path stores. Anything else sorts as a string
// after every version it understands. The index should pass the real PEP 440
// implementation (internal/forklift/pep440) instead.
type basicVersions struct{}

var basicRE = lazyregexp.New(`^([0-9]+(?:\.[0-9]+)*)(?:(a|b|rc)([0-9]+))?(?:\.post([0-9]+))?(?:\.dev([0-9]+))?$`)

type basicVersion struct {
	release []int
	pre     int // 0 a, 1 b, 2 rc, 3 none
	preN    int
	post    int // -1 none
	dev     int // -1 none (sorts after any dev)
}

func parseBasic(v string) (basicVersion, bool) {
	m := basicRE().FindStringSubmatch(strings.ToLower(v))
	if m == nil {
		return basicVersion{}, false
	}
	var bv basicVersion
	for _, s := range strings.Split(m[1], ".") {
		n, _ := strconv.Atoi(s)
		bv.release = append(bv.release, n)
	}
	for len(bv.release) > 1 && bv.release[len(bv.release)-1] == 0 {
		bv.release = bv.release[:len(bv.release)-1]
	}
	bv.pre = map[string]int{"a": 0, "b": 1, "rc": 2, "": 3}[m[2]]
	bv.preN, _ = strconv.Atoi(m[3])
	bv.post, bv.dev = -1, -1
	if m[4] != "" {
		bv.post, _ = strconv.Atoi(m[4])
	}
	if m[5] != "" {
		bv.dev, _ = strconv.Atoi(m[5])
	}
	// PEP 440: 1.0.dev0 sorts before 1.0a1.
	if bv.dev >= 0 && m[2] == "" && m[4] == "" {
		bv.pre = -1
	}
	return bv, true
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (basicVersions) Compare(a, b string) int {
	va, oka := parseBasic(a)
	vb, okb := parseBasic(b)
	if !oka || !okb {
		switch {
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	}
	for i := 0; i < len(va.release) || i < len(vb.release); i++ {
		x, y := 0, 0
		if i < len(va.release) {
			x = va.release[i]
		}
		if i < len(vb.release) {
			y = vb.release[i]
		}
		if c := cmpInt(x, y); c != 0 {
			return c
		}
	}
	if c := cmpInt(va.pre, vb.pre); c != 0 {
		return c
	}
	if c := cmpInt(va.preN, vb.preN); c != 0 {
		return c
	}
	if c := cmpInt(va.post, vb.post); c != 0 {
		return c
	}
	// No dev part sorts after any dev part.
	da, db := va.dev, vb.dev
	if da < 0 {
		da = int(^uint(0) >> 1)
	}
	if db < 0 {
		db = int(^uint(0) >> 1)
	}
	return cmpInt(da, db)
}

func (basicVersions) IsPrerelease(v string) bool {
	bv, ok := parseBasic(v)
	return ok && (bv.pre < 3 || bv.dev >= 0)
}

// Canonical strips trailing ".0" release components (canonicalize_version's
// visible effect on normalized versions: "1.0.0" -> "1").
func (basicVersions) Canonical(v string) string {
	v = strings.ToLower(v)
	m := basicRE().FindStringSubmatchIndex(v)
	if m == nil {
		return v
	}
	rel := v[m[2]:m[3]]
	for strings.HasSuffix(rel, ".0") {
		rel = strings.TrimSuffix(rel, ".0")
	}
	return rel + v[m[3]:]
}
