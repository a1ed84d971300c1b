// Package pytp serves PEP 807 trusted-publishing discovery:
//
//	GET /.well-known/pytp/<sha256 hex of the upload URL's path>
//
// A client that knows only an upload URL (say https://upload.pypi.org/legacy/)
// hashes its path ("/legacy/") and asks the same origin where the audience
// and mint-token endpoints are, instead of assuming PyPI's /_/oidc/ paths.
// The key is path-keyed so that one host can serve several indexes, each
// with its own exchange endpoints.
//
// Facts followed (PEP 807 draft): 200 with a
// JSON object naming "audience-endpoint" and "mint-token-endpoint" for a
// known upload path; 404 with an empty body for any other key; 406 for an
// Accept header that rules out application/vnd.pypi.pytp.v1+json; the
// returned URLs are on the host the request came to, since clients reject
// endpoints on any other host.
package pytp

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MediaType is the discovery document's media type.
const MediaType = "application/vnd.pypi.pytp.v1+json"

// Prefix is the path under which discovery keys are served.
const Prefix = "/.well-known/pytp/"

// Index describes one upload endpoint and its exchange endpoints, as paths
// on the serving host.
type Index struct {
	UploadPath   string // e.g. "/legacy/"
	AudiencePath string // e.g. "/_/oidc/audience"
	MintPath     string // e.g. "/_/oidc/mint-token"
}

// PyPI is the layout warehouse uses.
var PyPI = Index{UploadPath: "/legacy/", AudiencePath: "/_/oidc/audience", MintPath: "/_/oidc/mint-token"}

// Key returns the discovery key of an upload path: its SHA-256 in hex
// ("/legacy/" gives 0cace957...). An empty path hashes the empty string.
func Key(uploadPath string) string {
	sum := sha256.Sum256([]byte(uploadPath))
	return hex.EncodeToString(sum[:])
}

// Handler returns the discovery handler for indexes. Mount it at Prefix
// (it looks only at the last path element).
func Handler(indexes ...Index) http.Handler {
	byKey := make(map[string]Index, len(indexes))
	for _, ix := range indexes {
		byKey[Key(ix.UploadPath)] = ix
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		// Negotiate before looking the key up: an unacceptable Accept is
		// the client's mistake whatever the key.
		if !Acceptable(r.Header.Values("Accept")) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotAcceptable)
			w.Write([]byte("406 Not Acceptable: discovery is only available as " + MediaType + "\n"))
			return
		}
		key := strings.TrimPrefix(r.URL.Path, Prefix)
		ix, ok := byKey[key]
		if !ok || strings.Contains(key, "/") {
			// PEP 807: "not supported for this upload URL" is a 404 whose
			// body should be empty (clients ignore it).
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNotFound)
			return
		}
		base := origin(r)
		body := `{"audience-endpoint": ` + strconv.Quote(base+ix.AudiencePath) +
			`, "mint-token-endpoint": ` + strconv.Quote(base+ix.MintPath) + "}"
		w.Header().Set("Content-Type", MediaType)
		w.Header().Set("Vary", "Accept")
		w.Write([]byte(body))
	})
}

// origin is the request's scheme and authority. Discovered endpoints must
// share the host of the upload URL the client started from, which is the
// host it sent this request to. Plain http is only reachable on loopback
// listeners, which PEP 807 exempts from the https requirement.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https" // behind fakeindex proxy, which terminated TLS
	}
	return scheme + "://" + r.Host
}

// Acceptable reports whether Accept header values allow MediaType.
// A missing header counts as MediaType (PEP 807). Media ranges are matched
// as RFC 9110 says, so "*/*" and "application/*" accept the document:
// they tell the server the client takes anything, and plain requests and
// curl send "*/*" by default. "application/json" does not match and gets
// 406, as does any range with q=0.
func Acceptable(values []string) bool {
	if len(values) == 0 {
		return true
	}
	seen := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			seen = true
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			if mt == MediaType || mt == "*/*" || mt == "application/*" {
				return true
			}
		}
	}
	// A header with only empty elements is treated as missing.
	return !seen
}
