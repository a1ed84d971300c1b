package index

import "net/http"

// fakeHealth answers GET /_fake/health with 200 once the server is
// serving: the target of container health checks (`fakeindex
// healthcheck`), which should not depend on the configured projects the
// way /simple/ or /_fake/config do.
func (s *Server) fakeHealth(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, map[string]string{"status": "ok"})
}
