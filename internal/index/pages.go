package index

import (
	"net/http"
	"strings"
	"time"

	"github.com/fakepypi/fakepypi/internal/clock"
	"github.com/fakepypi/fakepypi/internal/indexfault"

	"github.com/fakepypi/fakepypi/internal/pages"
)

// initPages builds the HTML pages over the index's own stores.
func (s *Server) initPages() {
	name := "PyPI"
	if s.Tokens.Location == "test.pypi.org" {
		name = "TestPyPI" // warehouse's site.name on test.pypi.org
	}
	s.Pages = &pages.Site{
		Name: name, Catalog: s.Catalog, Publishers: s.Publishers, Events: s.Events, Exchange: s.Exchange,
		Versions: newVersionRules(), FileURL: s.Read.FileURL, Snapshot: s.Snapshot,
		Now: func() time.Time { return s.clock.Now() },
	}
	s.Pages.InForce = s.inForce
	s.Pages.Landing = func(r *http.Request) pages.Landing {
		l := pages.Landing{Audience: s.Exchange.Audience(), Domain: s.Tokens.Location}
		if s.landing != nil {
			s.landing(r, &l)
		}
		return l
	}
}

// SetLanding lets the program that runs the index (fakeindex, the
// harness) add what else is running to the landing page at /.
func (s *Server) SetLanding(f func(r *http.Request, l *pages.Landing)) { s.landing = f }

// inForce lists the index's faults, admin flags and clock changes.
func (s *Server) inForce() []string {
	var out []string
	st := s.Faults.State()
	for _, r := range st.Sticky {
		out = append(out, "index fault on "+r.Endpoint+": every request "+faultNames(r.Faults))
	}
	for _, r := range st.Queued {
		out = append(out, "index fault on "+r.Endpoint+": next request "+faultNames(r.Faults))
	}
	for _, f := range s.Flags.EnabledNames() {
		out = append(out, "admin flag: "+f)
	}
	if o, ok := s.clock.(*clock.Offset); ok {
		if o.Frozen() {
			out = append(out, "clock frozen at "+s.clock.Now().UTC().Format(time.RFC3339))
		} else if d := time.Until(s.clock.Now()).Round(time.Second); d > time.Second || d < -time.Second {
			out = append(out, "clock moved by "+d.String())
		}
	}
	return out
}

func faultNames(fs []indexfault.Fault) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.String()
	}
	return strings.Join(names, ", ")
}
