package pytp

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestKey(t *testing.T) {
	// printf '%s' /legacy/ | sha256sum. (a draft note quotes af030c06... for
	// this path; that is not SHA-256 of "/legacy/" nor of any nearby string,
	// so we follow the rule as stated, not the example.)
	if got, want := Key("/legacy/"), "0cace9579789849db6e16d48df183951c8f17582200d84bc93c7678d6c8f78a7"; got != want {
		t.Fatalf("Key(/legacy/) = %s, want %s", got, want)
	}
}

func TestHandler(t *testing.T) {
	h := Handler(PyPI)
	get := func(path, host string, tlsOn bool, accept ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = host
		if tlsOn {
			r.TLS = &tls.ConnectionState{}
		}
		for _, a := range accept {
			r.Header.Add("Accept", a)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	key := Prefix + Key("/legacy/")

	for _, accept := range [][]string{nil, {MediaType}, {"*/*"}, {"application/json;q=0.5, " + MediaType}, {"application/*"}} {
		w := get(key, "upload.pypi.org", true, accept...)
		if w.Code != 200 || w.Header().Get("Content-Type") != MediaType {
			t.Fatalf("Accept %q: %d %q", accept, w.Code, w.Header().Get("Content-Type"))
		}
		var doc map[string]string
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["audience-endpoint"] != "https://upload.pypi.org/_/oidc/audience" ||
			doc["mint-token-endpoint"] != "https://upload.pypi.org/_/oidc/mint-token" {
			t.Fatalf("doc = %v", doc)
		}
	}
	// Loopback over plain http keeps the request's scheme and port.
	var doc map[string]string
	json.Unmarshal(get(key, "127.0.0.1:8080", false).Body.Bytes(), &doc)
	if doc["audience-endpoint"] != "http://127.0.0.1:8080/_/oidc/audience" {
		t.Fatalf("loopback doc = %v", doc)
	}

	for _, accept := range []string{"application/json", "text/html", MediaType + ";q=0"} {
		if w := get(key, "pypi.org", true, accept); w.Code != http.StatusNotAcceptable {
			t.Errorf("Accept %q: %d, want 406", accept, w.Code)
		}
	}
	for _, p := range []string{Prefix + Key("/legacy"), Prefix + Key(""), Prefix + "nope", Prefix + Key("/legacy/") + "/x"} {
		w := get(p, "pypi.org", true)
		if w.Code != 404 || w.Body.Len() != 0 {
			t.Errorf("%s: %d %q, want 404 with empty body", p, w.Code, w.Body)
		}
	}
	r := httptest.NewRequest("POST", key, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 405 {
		t.Errorf("POST: %d", w.Code)
	}
}
