// Package pypierr is the one error type of the emulated index: a refusal
// worded exactly as PyPI words it, which renders in the envelope of the
// endpoint that refused.
//
// PyPI answers the same kind of mistake in two envelopes: the trusted
// publishing exchange answers 422 with {"message": "Token request failed",
// "errors": [{"code", "description"}]} (warehouse oidc/views.py), and the
// upload endpoint raises an HTTPException whose message becomes the HTTP
// reason phrase and the body (warehouse forklift/utils.py
// _exc_with_message). Validation code (forklift, apitoken, project names)
// returns *Error without knowing which envelope the caller writes.
package pypierr

import (
	"fmt"
	"net/http"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// Error is a refusal: PyPI's HTTP status and exact message.
type Error struct {
	// Status is the HTTP status (400, 403, 409, 422, ...).
	Status int
	// Code is the mint-token error code ("invalid-publisher", ...), set
	// only for errors of the trusted-publishing exchange.
	Code string
	// Message is PyPI's exact text: the reason phrase of an upload
	// answer, or the description of a mint-token error.
	Message string
	// Why is the harness's own explanation, for /_fake/events and the
	// log; it never reaches the client.
	Why string
	// StatusOnly: Message is in the status line only, the body's detail
	// is empty (an exception whose status was set after it was made,
	// warehouse/accounts/security_policy.py _format_exc_status).
	StatusOnly bool
}

// Error returns "<status> <message>", as the status line reads.
func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// New returns an upload-style error with status and message.
func New(status int, message string) *Error { return &Error{Status: status, Message: message} }

// BadRequest returns a 400 whose message is format applied to args (or
// format itself when there are no args, so a literal "%" survives).
func BadRequest(format string, args ...any) *Error {
	if len(args) == 0 {
		return New(http.StatusBadRequest, format)
	}
	return New(http.StatusBadRequest, fmt.Sprintf(format, args...))
}

// Forbidden returns a 403 with the harness's explanation why.
func Forbidden(message, why string) *Error {
	return &Error{Status: http.StatusForbidden, Message: message, Why: why}
}

// MintMessage is the top-level message of every mint-token error
// (warehouse oidc/views.py).
const MintMessage = "Token request failed"

// Mint returns a mint-token error: 422 with code and description.
func Mint(code, description string) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: code, Message: description}
}

// WriteMint writes the exchange's envelope through Warehouse's json
// renderer (warehouse/config.py: sort_keys, compact separators):
// {"errors":[{"code":...,"description":...}],"message":"Token request failed"}
// There is always exactly one element in errors (warehouse/oidc/views.py
// _invalid).
func (e *Error) WriteMint(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	w.Write(e.MintBody())
}

// MintBody is the body WriteMint sends (the claims debugger shows it).
func (e *Error) MintBody() []byte {
	return pyfmt.Renderer.Dumps(pyfmt.Object{
		{Key: "message", Value: MintMessage},
		{Key: "errors", Value: []pyfmt.Object{{{Key: "code", Value: e.Code}, {Key: "description", Value: e.Message}}}},
	})
}

// WriteUpload writes the upload endpoint's answer: the message in the
// status line and in Pyramid's body for the request's Accept header.
func (e *Error) WriteUpload(w http.ResponseWriter, r *http.Request) {
	detail := e.Message
	if e.StatusOnly {
		detail = ""
	}
	WriteStatusDetail(w, r, e.Status, e.Message, detail, nil)
}

// Help is the warehouse domain that PyPI's help links name: Warehouse's
// request.help_url builds https://<warehouse.domain>/help/#<anchor>
// whatever host the request came to (warehouse/forklift/__init__.py
// _help_url), so TestPyPI's messages link https://test.pypi.org/help/.
// The zero Help is PyPI's, pypi.org.
type Help string

// URL is the help link for anchor ("file-name-reuse", ...).
func (h Help) URL(anchor string) string {
	d := string(h)
	if d == "" {
		d = "pypi.org"
	}
	return "https://" + d + "/help/#" + anchor
}
