// Package readme decides whether PyPI would refuse an upload because its
// description fails to render (step 15 of docs/upload.md's check order; warehouse/forklift/legacy.py
// calls readme_renderer).
//
// Warehouse's forklift/legacy.py renders a non-empty description with
// warehouse/utils/readme.py render(..., use_fallback=False): text/plain
// (readme_renderer.txt) always renders; text/markdown (cmarkgfm) renders
// practically everything, a text of only blanks excepted; reStructuredText, the default when there is no
// Description-Content-Type, goes through readme_renderer.rst, which runs
// docutils with halt_level 2: the first system message of level WARNING or
// above raises SystemMessage and the description is refused.
//
// docutils cannot be ported here, so RST is checked by a conservative
// detector (rst.go) of the common, well-defined failure causes: every
// document it refuses is refused by docutils 0.19 to 0.21 with
// readme_renderer's settings, and documents it cannot judge are accepted.
package readme

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fakepypi/fakepypi/internal/pypierr"
)

// Check returns PyPI's step-15 refusal for a description with the given
// Description-Content-Type (nil when the field is absent), or nil when
// the description would render. The content type is assumed to have
// passed metadata validation (step 7), so it is text/plain, text/x-rst or
// text/markdown with a valid charset and variant. help is the domain of
// the message's help link (legacy.py request.help_url).
func Check(description, contentType *string, help pypierr.Help) *pypierr.Error {
	helpURL := help.URL("description-content-type")
	// legacy.py: "if meta.description:" — an empty or missing
	// description is not rendered.
	if description == nil || *description == "" {
		return nil
	}
	ctype := ""
	if contentType != nil {
		ctype = *contentType
	}
	switch mediaType(ctype) {
	case "", "text/x-rst":
		if Problem(*description) == "" {
			return nil
		}
	case "text/markdown":
		// readme_renderer markdown.render returns None when cmarkgfm's
		// HTML is empty, which it is for a text of only blanks; other
		// markdown is accepted (see docs/upload.md).
		if strings.Trim(*description, " \t\r\n") != "" {
			return nil
		}
	default:
		// text/plain: readme_renderer.txt always renders.
		return nil
	}
	// legacy.py words the message on meta.description_content_type as
	// sent, parameters included.
	if ctype == "" {
		return pypierr.New(http.StatusBadRequest, "The description failed to render in the default format of reStructuredText. See "+helpURL+" for more information.")
	}
	return pypierr.New(http.StatusBadRequest, fmt.Sprintf("The description failed to render for '%s'. See %s for more information.", ctype, helpURL))
}

// mediaType is the lowercased type/subtype before any parameters.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.ToLower(strings.TrimSpace(ct))
}
