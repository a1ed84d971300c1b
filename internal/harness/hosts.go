package harness

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pytp"
	"github.com/fakepypi/fakepypi/internal/readapi"
)

// PyPI splits its routes over hosts (warehouse/config.py: the web, forklift and files domains),
// and clients build URLs from whichever host they were given: twine and
// gh-action-pypi-publish call /_/oidc/ on the upload URL's host, pip reads
// /simple/ from pypi.org and fetches files from files.pythonhosted.org.
// The harness answers each emulated host with the index, restricted to the
// paths that host serves on PyPI, so a client that mixes hosts up fails
// here as it would against PyPI.
var (
	// pypi.org: the warehouse domain, with its HTML pages (a project's
	// page is what twine's "View at:" link opens). /_fake/ is the
	// harness's control plane, reachable through the proxy for scripts
	// that only have the printed environment.
	warehousePaths = []string{"/simple", "/pypi/", "/_/oidc/", "/integrity/", pytp.Prefix,
		"/project/", "/p/", "/help", "/manage/", "/_fake/"}
	// upload.pypi.org: the forklift domain. Clients derive the OIDC and
	// PEP 807 discovery URLs from the upload URL, so those live here too.
	uploadPaths = []string{"/legacy", "/_/oidc/", pytp.Prefix}
	// files.pythonhosted.org: distribution files and PEP 658 metadata.
	filesPaths = []string{"/packages/"}
)

// PyPIHosts and TestPyPIHosts are the hostnames each index answers for,
// in the harness and behind `fakeindex proxy` alike (hostRoutes' keys; a
// test keeps them equal).
var (
	PyPIHosts     = []string{"pypi.org", "upload.pypi.org", "files.pythonhosted.org", "pypi.python.org"}
	TestPyPIHosts = []string{"test.pypi.org", "test-files.pythonhosted.org", "testpypi.python.org"}
)

// hostRoutes maps each hostname the proxy answers to the paths it
// serves; test hosts go to the TestPyPI index. hideControl drops /_fake/
// from pypi.org's paths (controlplane.Policy.DirectOnly).
func hostRoutes(pypi, testpypi http.Handler, hideControl bool) map[string]http.Handler {
	warehousePaths := warehousePaths
	if hideControl {
		warehousePaths = slices.DeleteFunc(slices.Clone(warehousePaths), func(p string) bool { return p == "/_fake/" })
	}
	both := append(append([]string(nil), warehousePaths...), uploadPaths...)
	// Pages served under PyPI's names link files on PyPI's files host, as
	// PyPI's files.url setting does; the index on 127.0.0.1 links to itself.
	pypi = withFilesURL(pypi, "https://files.pythonhosted.org/packages/")
	m := map[string]http.Handler{
		"pypi.org":               restrict("pypi.org", pypi, warehousePaths),
		"upload.pypi.org":        restrict("upload.pypi.org", pypi, uploadPaths),
		"files.pythonhosted.org": restrict("files.pythonhosted.org", pypi, filesPaths),
		// twine --skip-existing asks https://pypi.python.org/pypi/<name>/json;
		// PyPI redirects that host to pypi.org, the harness answers directly.
		"pypi.python.org": restrict("pypi.python.org", pypi, warehousePaths),
	}
	if testpypi != nil {
		testpypi = withFilesURL(testpypi, "https://test-files.pythonhosted.org/packages/")
		// TestPyPI serves uploads on test.pypi.org itself.
		m["test.pypi.org"] = restrict("test.pypi.org", testpypi, both)
		m["test-files.pythonhosted.org"] = restrict("test-files.pythonhosted.org", testpypi, filesPaths)
		m["testpypi.python.org"] = restrict("testpypi.python.org", testpypi, warehousePaths)
	}
	return m
}

func withFilesURL(h http.Handler, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(readapi.WithFilesURL(r.Context(), prefix)))
	})
}

// restrict serves h for paths under one of prefixes, 404 otherwise. A
// prefix without a trailing slash also matches itself, so /legacy reaches
// the index (which redirects it) and /simple gets its append-slash redirect.
func restrict(host string, h http.Handler, prefixes []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Fakepypi-Host-Split", host)
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("404 Not Found\n\nfakepypi: " + host + " does not serve " + r.URL.Path +
			" (PyPI serves it on another host; see docs/harness.md)\n"))
	})
}

// loopbackRoutes routes the hosts of the harness's direct listeners
// ("127.0.0.1:41234" -> handler) through the proxy, by port. Other ports on
// the same host get 403: only the harness's own listeners are emulated.
func loopbackRoutes(byAddr map[string]http.Handler) map[string]http.Handler {
	hosts := map[string]map[string]http.Handler{}
	for addr, h := range byAddr {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if hosts[host] == nil {
			hosts[host] = map[string]http.Handler{}
		}
		hosts[host][port] = h
	}
	out := map[string]http.Handler{}
	for host, ports := range hosts {
		out[host] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, port, err := net.SplitHostPort(r.Host)
			if err != nil {
				port = "443"
				if r.TLS == nil {
					port = "80"
				}
			}
			if h, ok := ports[port]; ok {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "fakepypi proxy: "+r.Host+" is not a harness listener", http.StatusForbidden)
		})
	}
	return out
}
