package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	"github.com/fakepypi/fakepypi/internal/localca"
	"github.com/fakepypi/fakepypi/internal/pypihdr"
)

// newUpstream returns a reverse proxy to base that keeps the upstream's
// status line intact. httputil.ReverseProxy alone would replace a custom
// reason phrase ("400 File already exists ...") with the standard one,
// and twine shows and matches the reason.
func newUpstream(base *url.URL, ca *localca.CA, log *slog.Logger) http.Handler {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// Never through a proxy from the environment, which in a harnessed
	// process may well be this proxy.
	t.Proxy = nil
	t.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
	t.ForceAttemptHTTP2 = false
	return withResponseWriter(&httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(base)
			// The upstream builds absolute URLs (file links, upload
			// URLs) from Host, so it must see the emulated name.
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: t,
		ModifyResponse: func(resp *http.Response) error {
			// The transport parsed the upstream's header names into Go's
			// canonical form; give back PyPI's spelling (for the raw
			// writer; respelling does it for the ReverseProxy's).
			pypihdr.Respell(resp.Header)
			return writeCustomStatus(resp)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, errWrittenRaw) {
				return
			}
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			log.Warn("proxy: upstream failed", "host", r.Host, "upstream", base.String(), "err", err)
			http.Error(w, fmt.Sprintf("fakepypi proxy: upstream %s for %s: %v", base, r.Host, err), http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	})
}

// errWrittenRaw tells the ReverseProxy's error handler that the response
// has already been written on the hijacked connection.
var errWrittenRaw = errors.New("response written on hijacked connection")

// writeCustomStatus writes a response whose reason phrase is not the
// standard one for its code straight onto the client connection, since
// http.ResponseWriter can only produce standard reasons. Other responses
// go through the ReverseProxy as usual.
func writeCustomStatus(resp *http.Response) error {
	code, reason, _ := strings.Cut(resp.Status, " ")
	if reason == "" || reason == http.StatusText(resp.StatusCode) || code != strconv.Itoa(resp.StatusCode) {
		return nil
	}
	w, ok := resp.Request.Context().Value(responseWriterKey{}).(http.ResponseWriter)
	if !ok {
		return nil
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil // e.g. HTTP/2: fall back to the standard reason
	}
	defer conn.Close()
	h := resp.Header.Clone()
	// Hop-by-hop headers are already gone; the connection ends with this
	// response, which frees us from re-chunking a body of unknown length.
	h.Set("Connection", "close")
	body := resp.Request.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	if body && resp.ContentLength >= 0 {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	} else if body {
		h.Del("Content-Length")
	}
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\n", resp.Status)
	h.Write(brw)
	brw.WriteString("\r\n")
	if body {
		io.Copy(brw, resp.Body)
	}
	brw.Flush()
	return errWrittenRaw
}

type responseWriterKey struct{}

// withResponseWriter makes the ResponseWriter reachable from
// ModifyResponse, which only sees the outgoing request, and gives the
// answer's headers PyPI's spelling: the ReverseProxy copies them with
// Header.Add, which canonicalizes the names again.
func withResponseWriter(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(respelling{w}, r.WithContext(context.WithValue(r.Context(), responseWriterKey{}, w)))
	})
}

// respelling applies pypihdr.Respell just before the headers are sent.
type respelling struct{ http.ResponseWriter }

func (w respelling) WriteHeader(code int) {
	pypihdr.Respell(w.Header())
	w.ResponseWriter.WriteHeader(code)
}

func (w respelling) Write(b []byte) (int, error) {
	pypihdr.Respell(w.Header()) // no effect once the headers are out
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (the ReverseProxy's flushes) reach
// the connection's writer.
func (w respelling) Unwrap() http.ResponseWriter { return w.ResponseWriter }
