package index

import (
	"net/http"
	"time"

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
