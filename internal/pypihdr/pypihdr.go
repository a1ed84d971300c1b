// Package pypihdr writes the response headers whose names PyPI spells
// differently from Go's canonical form.
//
// HTTP header names are case-insensitive, but a client that prints or
// compares them sees the bytes: Warehouse sends X-PyPI-Last-Serial
// (warehouse/api/simple.py, warehouse/legacy/api/json.py), RateLimit and
// RateLimit-Policy (warehouse/rate_limiting/headers.py) and WebOb's ETag,
// which http.Header.Set would write as X-Pypi-Last-Serial, Ratelimit,
// Ratelimit-Policy and Etag. Set writes the map entry directly, and
// Respell restores the spelling of headers that a Go client read back
// (net/http canonicalizes every name it parses), as the proxy does when
// it relays an upstream index.
package pypihdr

import "net/http"

// Scheme is the scheme the client used: https over TLS, or when the front
// end that terminated TLS says so in X-Forwarded-Proto (fakeindex proxy
// sets it, as PyPI's CDN does for Warehouse, whose ProxyFixer reads it:
// warehouse/utils/wsgi.py). Links and redirects the index builds from
// the request use it.
func Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	switch r.Header.Get("X-Forwarded-Proto") {
	case "https":
		return "https"
	}
	return "http"
}

// The names as PyPI sends them.
const (
	LastSerial      = "X-PyPI-Last-Serial"
	RateLimit       = "RateLimit"
	RateLimitPolicy = "RateLimit-Policy"
	ETag            = "ETag"
)

// spelled maps Go's canonical form to PyPI's spelling.
var spelled = map[string]string{
	http.CanonicalHeaderKey(LastSerial):      LastSerial,
	http.CanonicalHeaderKey(RateLimit):       RateLimit,
	http.CanonicalHeaderKey(RateLimitPolicy): RateLimitPolicy,
	http.CanonicalHeaderKey(ETag):            ETag,
}

// Set sets header name to value under exactly that spelling, replacing any
// value stored under its canonical form.
func Set(h http.Header, name, value string) {
	if c := http.CanonicalHeaderKey(name); c != name {
		delete(h, c)
	}
	h[name] = []string{value}
}

// Respell moves the headers PyPI spells its own way from their canonical
// keys to PyPI's spelling.
func Respell(h http.Header) {
	for canon, name := range spelled {
		if vs, ok := h[canon]; ok {
			delete(h, canon)
			h[name] = append(h[name], vs...)
		}
	}
}
