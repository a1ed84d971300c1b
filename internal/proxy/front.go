package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fakepypi/fakepypi/internal/localca"
)

// Front adds two direct (origin-form) routes to the proxy's port, which
// otherwise answers only proxy requests: GET /_fake/health, for container
// health checks, and GET /_fake/ca.pem, the CA bundle, so a client on the
// host of a container, or a CI job next to a service container, fetches
// what it must trust from the port it already uses (HTTPS_PROXY) instead
// of copying a file out of the container. Everything else goes to p.
func (p *Proxy) Front(ca *localca.CA) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !r.URL.IsAbs() {
			switch r.URL.Path {
			case "/_fake/health":
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, "{\"status\":\"ok\",\"hosts\":%q}\n", strings.Join(p.Hosts(), " "))
				return
			case CAPath:
				w.Header().Set("Content-Type", "application/x-pem-file")
				w.Write(ca.CertPEM())
				return
			}
		}
		p.ServeHTTP(w, r)
	})
}

// CAPath is where Front serves the CA bundle.
const CAPath = "/_fake/ca.pem"
