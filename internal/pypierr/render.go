package pypierr

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fakepypi/fakepypi/internal/pyfmt"
)

// Pyramid's explanations (pyramid/httpexceptions.py), which its default
// exception body puts before the message. 405 has a template of its own
// and the redirects another (see body).
var explanations = map[int]string{
	http.StatusOK:                    "",
	http.StatusBadRequest:            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
	http.StatusForbidden:             "Access was denied to this resource.",
	http.StatusNotFound:              "The resource could not be found.",
	http.StatusConflict:              "There was a conflict when trying to complete your request.",
	http.StatusGone:                  "This resource is no longer available.  No forwarding address is given.",
	http.StatusTooManyRequests:       "The action could not be performed because there were too many requests by the client.",
	http.StatusRequestEntityTooLarge: "The request is larger than the server is willing or able to process.",
}

// moveExplanations are the _HTTPMove subclasses' explanations.
var moveExplanations = map[int]string{
	http.StatusMovedPermanently:  "The resource has been moved to",
	http.StatusFound:             "The resource was found at",
	http.StatusSeeOther:          "The resource has been moved to",
	http.StatusUseProxy:          "The resource must be accessed through a proxy located at",
	http.StatusTemporaryRedirect: "The resource has been moved to",
	http.StatusPermanentRedirect: "The resource has been moved to",
}

// ReasonPhrase is what goes after the status code: the message encoded
// as ISO-8859-1 with "?" for what it cannot encode (warehouse
// forklift/utils.py _exc_with_message; WSGI status lines are latin-1).
// CR and LF become spaces so that no message can split the status line.
func ReasonPhrase(message string) string {
	var b strings.Builder
	for _, r := range message {
		switch {
		case r == '\r' || r == '\n':
			b.WriteByte(' ')
		case r == utf8.RuneError || r > 0xff:
			b.WriteByte('?')
		default:
			b.WriteByte(byte(r)) // latin-1: one byte per code point
		}
	}
	return b.String()
}

// bodyKind is Pyramid's HTTPException.prepare choice: the first of
// text/html and application/json the Accept header accepts, in quality
// order (ties keep the offer order), else text/plain. A missing Accept
// header accepts nothing, hence text/plain.
func bodyKind(accept string) string {
	best, bestQ := "text/plain", 0.0
	for _, offer := range []string{"text/html", "application/json"} {
		if q := acceptQ(accept, offer); q > bestQ {
			best, bestQ = offer, q
		}
	}
	return best
}

// acceptQ returns the quality Accept gives to a concrete media type: the
// most specific matching range decides (RFC 9110, section 12.5.1), 0 if none.
func acceptQ(accept, offer string) float64 {
	otype, osub, _ := strings.Cut(offer, "/")
	q, spec := 0.0, -1
	for _, rng := range strings.Split(accept, ",") {
		params := strings.Split(rng, ";")
		mt := strings.ToLower(strings.TrimSpace(params[0]))
		t, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		s := -1
		switch {
		case t == otype && sub == osub:
			s = 2
		case t == otype && sub == "*":
			s = 1
		case t == "*" && sub == "*":
			s = 0
		}
		if s < 0 || s < spec {
			continue
		}
		rq := 1.0
		for _, p := range params[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					rq = f
				}
			}
		}
		q, spec = rq, s
	}
	return q
}

// Body renders Pyramid's default exception page for status line
// "<code> <message>" answering a POST the way the Accept header asks
// (pyramid/httpexceptions.py HTTPException.prepare), returning the
// Content-Type and the bytes.
func Body(accept string, code int, message string) (contentType string, body []byte) {
	return render(accept, code, message, message, http.MethodPost, "")
}

// render is HTTPException.prepare: the body template of the exception's
// class filled in (br is "<br/>" and values are HTML-escaped for HTML,
// "\n" and raw otherwise), then wrapped in the page for text/html, in
// json.dumps({"message", "code", "title"}) for application/json, or after
// the status for text/plain. message is the status line's text, detail the
// exception's (the same for _exc_with_message; empty when only the status
// was set); method is the request's (405's template names it); location is
// the Location header as the view set it (the redirects' template shows
// it).
func render(accept string, code int, message, detail, method, location string) (contentType string, body []byte) {
	status := strconv.Itoa(code) + " " + message
	if message == "" {
		status = strconv.Itoa(code) + " " + http.StatusText(code)
	}
	kind := bodyKind(accept)
	br, esc := "\n", func(s string) string { return s }
	if kind == "text/html" {
		br, esc = "<br/>", htmlEscape
	}
	var inner string
	if expl, move := moveExplanations[code]; move {
		// _HTTPMove: ${explanation} ${location}; you should be redirected
		// automatically.\n${detail}\n${html_comment}
		inner = esc(expl) + " " + esc(location) + "; you should be redirected automatically.\n" + esc(detail) + "\n"
	} else if code == http.StatusMethodNotAllowed {
		// HTTPMethodNotAllowed: The method ${REQUEST_METHOD} is not
		// allowed for this resource. ${br}${br}\n${detail}
		inner = "The method " + esc(method) + " is not allowed for this resource. " + br + br + "\n" + esc(detail)
	} else {
		// HTTPException: ${explanation}${br}${br}\n${detail}\n${html_comment}\n
		inner = esc(explanations[code]) + br + br + "\n" + esc(detail) + "\n\n"
	}
	switch kind {
	case "text/html":
		page := "<html>\n <head>\n  <title>" + status + "</title>\n </head>\n <body>\n  <h1>" + status + "</h1>\n  " +
			inner + "\n </body>\n</html>"
		return "text/html; charset=UTF-8", []byte(page)
	case "application/json":
		// json.dumps with default arguments, keys in this order.
		return "application/json", pyfmt.JSON(pyfmt.Object{
			{Key: "message", Value: inner}, {Key: "code", Value: status}, {Key: "title", Value: http.StatusText(code)},
		})
	default:
		return "text/plain; charset=UTF-8", []byte(status + "\n\n" + inner)
	}
}

// WriteStatus answers with the status line "HTTP/1.1 <code> <message>"
// and Pyramid's default body for the request's Accept header. It is the
// one place that writes PyPI's upload answers (errors through
// Error.WriteUpload, and the 200, 308 and 405 that are not errors).
//
// Go's net/http always writes the standard reason phrase, and clients
// read PyPI's message from the reason (twine prints response.reason;
// its --skip-existing looks for "already exist" in it), so the handler
// takes the connection over and writes the response itself, closing the
// connection afterwards. Where that is impossible (HTTP/2, or a test
// recorder) the standard status line is used and the message is still in
// the body. An empty message means the standard phrase ("200 OK").
func WriteStatus(w http.ResponseWriter, r *http.Request, code int, message string, extra http.Header) {
	WriteStatusDetail(w, r, code, message, message, extra)
}

// WriteStatusDetail is WriteStatus for an exception whose body detail
// differs from its status line: warehouse/accounts/security_policy.py
// _format_exc_status sets only the status of a bare HTTPForbidden(), so
// the password refusal's body has no message.
func WriteStatusDetail(w http.ResponseWriter, r *http.Request, code int, message, detail string, extra http.Header) {
	// Warehouse's redirects name a path (request.route_path); WebOb makes
	// the header absolute only when it sends it, after the body is made.
	loc := extra.Get("Location")
	if u, err := url.Parse(loc); err == nil && u.IsAbs() {
		loc = u.RequestURI()
	}
	ctype, body := render(r.Header.Get("Accept"), code, message, detail, r.Method, loc)
	reason := http.StatusText(code)
	if message != "" {
		reason = ReasonPhrase(message)
	}
	if message != "" && r.ProtoMajor == 1 {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err == nil {
			defer conn.Close()
			writeRaw(brw.Writer, code, reason, ctype, body, extra, r.Method == http.MethodHead)
			brw.Flush()
			return
		}
	}
	for k, vs := range extra {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

func writeRaw(bw *bufio.Writer, code int, reason, ctype string, body []byte, extra http.Header, head bool) {
	fmt.Fprintf(bw, "HTTP/1.1 %03d %s\r\n", code, reason)
	h := http.Header{}
	for k, vs := range extra {
		h[k] = vs
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	h.Set("Date", timeNow().UTC().Format(http.TimeFormat))
	h.Write(bw)
	bw.WriteString("\r\n")
	if !head {
		bw.Write(body)
	}
}

// timeNow is the Date header's clock (the real one: it is transport, not
// index state).
var timeNow = time.Now

// htmlEscape is Python's html.escape(s, quote=True), which Pyramid's
// page template uses: "'" becomes "&#x27;" (Go's html.EscapeString writes
// "&#39;").
var htmlEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;").Replace
