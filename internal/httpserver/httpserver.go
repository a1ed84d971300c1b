// Package httpserver builds the http.Server of every fakepypi listener
// (the index, the issuer, the proxy and the proxy's tunnels) with the same
// bounds on slow and idle clients, and recovers handler panics.
//
// net/http alone bounds only what its Server fields say. A client could
// hold a connection and a goroutine forever by sending a body one byte at
// a time, by never reading an answer, or by keeping an idle keep-alive
// connection open. Limits cuts each:
//
//   - headers must arrive within ReadHeaderTimeout (this also bounds the
//     TLS handshake);
//   - a keep-alive connection idle for IdleTimeout is closed;
//   - a request body must arrive at MinRate bytes per second on average
//     over every Window: each Window must bring MinRate×Window bytes, or
//     the read fails and the handler answers as for any broken body;
//   - an answer must leave at the same rate: each MinRate×Window bytes of
//     it must be written within Window, or the connection is closed.
//
// The body rule works with read deadlines on the connection
// (http.ResponseController), so it costs nothing per byte.
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Limits bound slow and idle clients. Zero fields take the defaults.
type Limits struct {
	// ReadHeaderTimeout bounds the request line and headers (and a TLS
	// handshake); default 30 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request for that
	// long; default 60 s.
	IdleTimeout time.Duration
	// MinRate is the slowest average rate, in bytes per second, at which a
	// request body is read or an answer written; default 1024.
	MinRate int64
	// Window is how long a transfer may stay under MinRate before it is
	// cut; default 60 s.
	Window time.Duration
}

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMinRate           = 1024
	DefaultWindow            = 60 * time.Second
)

// WithDefaults fills zero fields with the defaults.
func (l Limits) WithDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultMinRate
	}
	if l.Window <= 0 {
		l.Window = DefaultWindow
	}
	return l
}

// quantum is how many bytes each Window must move: MinRate×Window.
func (l Limits) quantum() int64 {
	q := int64(float64(l.MinRate) * l.Window.Seconds())
	if q < 1 {
		q = 1
	}
	return q
}

// New returns a server for h with l's limits. Panics h does not recover
// itself are logged to logger (slog.Default() when nil) and answered
// with a plain 500. net/http's own error log (TLS handshakes that fail,
// mostly clients that do not trust the CA) goes to logger at debug level.
func New(h http.Handler, l Limits, logger *slog.Logger) *http.Server {
	l = l.WithDefaults()
	if logger == nil {
		logger = slog.Default()
	}
	fresh := &freshConns{conns: map[net.Conn]struct{}{}}
	srv := &http.Server{
		Handler:           Paced(Recover(h, logger, nil), l),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		ConnState:         fresh.track,
	}
	srv.RegisterOnShutdown(fresh.closeAll)
	return srv
}

// freshConns tracks the connections that have not sent a byte yet
// (http.StateNew), so Shutdown can close them as it closes idle ones.
// net/http's Shutdown counts such a connection as busy until it is 5 s
// old, so one that a client opened and left unused (Go's transport keeps
// the spare connection of a dial race in its pool so) held every Close up
// for 5 s. A connection that has sent nothing has no request to lose.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state == http.StateNew {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
		delete(f.conns, c)
	}
}

// ErrTooSlow is wrapped by the error a paced body's Read returns when the
// client sent less than MinRate×Window bytes in a Window.
var ErrTooSlow = errors.New("request body arrived too slowly")

// Paced enforces l's minimum rates on h's request bodies and answers.
func Paced(h http.Handler, l Limits) http.Handler {
	l = l.WithDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		pw := &pacedWriter{ResponseWriter: w, rc: rc, l: l}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &pacedBody{ReadCloser: r.Body, rc: rc, l: l}
		}
		defer func() {
			// The server flushes what is buffered after the handler
			// returns: give that a deadline too (it clears it afterwards).
			rc.SetWriteDeadline(time.Now().Add(l.Window))
		}()
		h.ServeHTTP(pw, r)
	})
}

// pacedBody reads a request body under the minimum rate: each window must
// bring quantum bytes before its read deadline.
type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	l     Limits
	armed bool
	got   int64 // bytes since the window started
	done  bool
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	if !b.armed || b.got >= b.l.quantum() {
		// A new window: the client met the last one's quota.
		if b.rc.SetReadDeadline(time.Now().Add(b.l.Window)) != nil {
			// No deadline support (a test recorder, HTTP/2): read as is.
			b.done = true
			return b.ReadCloser.Read(p)
		}
		b.armed, b.got = true, 0
	}
	n, err := b.ReadCloser.Read(p)
	b.got += int64(n)
	var ne net.Error
	switch {
	case err == nil:
	case errors.As(err, &ne) && ne.Timeout():
		err = fmt.Errorf("%w: less than %d bytes in %s (the minimum is %d bytes/s)", ErrTooSlow, b.l.quantum(), b.l.Window, b.l.MinRate)
	default:
		// EOF or a broken body: no more reads, no more deadlines
		// (net/http clears the read deadline itself when it starts
		// watching the connection for the next request).
		b.done = true
	}
	return n, err
}

// pacedWriter writes answers under the minimum rate: every quantum bytes
// get a fresh write deadline Window away.
type pacedWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	l  Limits
}

// Unwrap lets http.ResponseController reach the server's writer (Hijack,
// Flush, deadlines).
func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *pacedWriter) Write(p []byte) (int, error) {
	q := int(w.l.quantum())
	written := 0
	for len(p) > 0 {
		chunk := p
		if len(chunk) > q {
			chunk = p[:q]
		}
		w.rc.SetWriteDeadline(time.Now().Add(w.l.Window))
		n, err := w.ResponseWriter.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// ReadFrom keeps net/http's sendfile path for files served from disk,
// one quantum at a time.
func (w *pacedWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	var total int64
	for {
		w.rc.SetWriteDeadline(time.Now().Add(w.l.Window))
		n, err := rf.ReadFrom(io.LimitReader(src, w.l.quantum()))
		total += n
		if err != nil || n < w.l.quantum() {
			return total, err
		}
	}
}

// Flush keeps http.Flusher for handlers that assert it directly.
func (w *pacedWriter) Flush() { w.rc.Flush() }

// Recover answers a panic in h instead of letting net/http drop the
// connection silently: the panic and its stack are logged to logger
// (slog.Default() when nil) at error level, and the client gets a 500
// written by answer (a plain "Internal Server Error" when answer is nil),
// unless the handler had already started its answer, in which case the
// connection is cut so the client sees a truncated reply, not a
// complete-looking one.
func Recover(h http.Handler, logger *slog.Logger, answer func(w http.ResponseWriter, r *http.Request)) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	if answer == nil {
		answer = PlainInternalError
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &startedWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's own way to cut a connection quietly
			}
			logger.LogAttrs(context.Background(), slog.LevelError, "handler panic",
				slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			if tw.started {
				panic(http.ErrAbortHandler)
			}
			answer(w, r)
		}()
		h.ServeHTTP(tw, r)
	})
}

// PlainInternalError is Pyramid's answer to an unexpected exception, as
// PyPI's own 500s read: "Internal Server Error" as text/plain.
func PlainInternalError(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Connection", "close")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, "Internal Server Error")
}

// startedWriter notes whether the answer has begun.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *startedWriter) WriteHeader(code int) {
	if code >= 200 {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(p []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(p)
}

func (w *startedWriter) ReadFrom(src io.Reader) (int64, error) {
	w.started = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

func (w *startedWriter) Flush() {
	w.started = true
	http.NewResponseController(w.ResponseWriter).Flush()
}
