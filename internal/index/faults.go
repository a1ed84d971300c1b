package index

import (
	"net/http"

	"github.com/fakepypi/fakepypi/internal/indexfault"
)

// forkliftDomain is PyPI's forklift.domain for an index whose macaroon
// location is domain: uploads to pypi.org go to upload.pypi.org, while
// TestPyPI (test.pypi.org) takes them on its own host.
func forkliftDomain(domain string) string {
	if domain == "pypi.org" {
		return "upload.pypi.org"
	}
	return domain
}

// faultsBody is /_fake/faults' request, as fakeissuer's with an endpoint:
// {"faults": ["status:503"], "endpoint": "upload", "count": 2}.
type faultsBody struct {
	Faults   []indexfault.Fault `json:"faults"`
	Endpoint string             `json:"endpoint,omitempty"` // default "any"
	Count    int                `json:"count,omitempty"`    // POST: this many one-shot entries (default 1)
}

func (b *faultsBody) endpoint() string {
	if b.Endpoint == "" {
		return indexfault.Any
	}
	return b.Endpoint
}

func (s *Server) fakeFaultsGet(w http.ResponseWriter, r *http.Request) {
	reply(w, http.StatusOK, s.Faults.State())
}

// fakeFaultsQueue queues one-shot faults for the next request(s) to the
// endpoint.
func (s *Server) fakeFaultsQueue(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if !decode(w, r, &b) {
		return
	}
	if b.Count < 0 || b.Count > indexfault.MaxCount {
		replyErr(w, http.StatusBadRequest, "count must be between 1 and %d", indexfault.MaxCount)
		return
	}
	if err := s.Faults.Queue(b.endpoint(), b.Count, b.Faults...); err != nil {
		replyErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	reply(w, http.StatusOK, s.Faults.State())
}

// fakeFaultsSet replaces the sticky faults of the endpoint (of every
// endpoint without one); an empty list removes them.
func (s *Server) fakeFaultsSet(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if !decode(w, r, &b) {
		return
	}
	if b.Count != 0 {
		replyErr(w, http.StatusBadRequest, "count is for POST (queued faults); PUT sets sticky ones")
		return
	}
	if err := s.Faults.SetSticky(b.endpoint(), b.Faults...); err != nil {
		replyErr(w, http.StatusBadRequest, "%v", err)
		return
	}
	reply(w, http.StatusOK, s.Faults.State())
}

// fakeFaultsClear drops every sticky and queued fault.
func (s *Server) fakeFaultsClear(w http.ResponseWriter, r *http.Request) {
	s.Faults.Clear()
	reply(w, http.StatusOK, s.Faults.State())
}
