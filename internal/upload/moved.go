package upload

import (
	"net/http"

	"github.com/fakepypi/fakepypi/internal/apitoken"
	"github.com/fakepypi/fakepypi/internal/blobstore"
)

// MsgMoved is the answer of PyPI's old upload URL, https://pypi.org/pypi,
// for domain the forklift (upload) domain. The "TODO" is PyPI's own text
// (warehouse/legacy/api/pypi.py forklifted).
func MsgMoved(domain string) string {
	return "This API has moved to https://" + domain + "/legacy/. See TODO for more information."
}

// movedActions are the :action values warehouse routes to forklifted.
var movedActions = map[string]bool{"file_upload": true, "submit": true, "submit_pkg_info": true, "doc_upload": true}

// Moved serves /pypi, the pre-Warehouse upload URL that old clients and
// old .pypirc files still name: an :action of file_upload, submit,
// submit_pkg_info or doc_upload (query string first, then the form, as
// request.params reads them) gets 410 with the new URL in the status
// line; anything else is not a route, 404. forkliftDomain is where the
// message sends the client (upload.pypi.org for PyPI).
func (h *Handler) Moved(forkliftDomain string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		action, hasAction := "", false
		if vs, ok := r.URL.Query()[":action"]; ok {
			action, hasAction = vs[0], true
		}
		// The file, if any, is counted, never stored: nothing is uploaded.
		b, err := readBody(r, h.o.MaxField, h.o.MaxForm, h.o.MaxFields, func(*body) (*blobstore.Writer, error) { return nil, nil })
		if err != nil {
			drain(r) // a form too big or broken still gets the route's answer
		}
		if !hasAction && b != nil {
			if vs := b.fields[":action"]; len(vs) > 0 {
				action = vs[len(vs)-1]
			}
		}
		if !movedActions[action] {
			drain(r)
			http.NotFound(w, r)
			return
		}
		out := fail("moved", http.StatusGone, MsgMoved(forkliftDomain))
		out.why = "POST to the old upload URL /pypi; uploads go to /legacy/"
		h.finish(w, r, apitoken.Identity{}, b, out)
	}
}
