package harness

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Scheme values for Options.Scheme.
const (
	SchemeBoth  = "both"  // TLS and plain HTTP on the same port (default)
	SchemeHTTPS = "https" // TLS only
	SchemeHTTP  = "http"  // plain HTTP only
)

// advertisedAddr is the address clients are told for ln: its own, except
// that a listener on every interface (0.0.0.0 or [::], as in a container
// with published ports) is named by 127.0.0.1, which reaches it from the
// same machine and, through "docker run -p 127.0.0.1:P:P", from the host.
// "https://[::]:8081" is not a URL a client can use.
func advertisedAddr(ln net.Listener) string {
	a := ln.Addr().String()
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return a
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return a
}

// listen opens a loopback listener on addr speaking scheme. With SchemeBoth
// it looks at each connection's first byte: a TLS handshake starts with
// 0x16 (handshake record), an HTTP request with a letter. One port serving
// both lets the same printed address work for uv and gh-action-pypi-publish
// (which force https) and for curl or twine pointed at http://.
func listen(addr, scheme string, cfg *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case SchemeHTTP:
		return ln, nil
	case SchemeHTTPS:
		return tls.NewListener(ln, cfg), nil
	case SchemeBoth:
		d := &dualListener{Listener: ln, cfg: cfg, conns: make(chan net.Conn), done: make(chan struct{})}
		go d.acceptLoop()
		return d, nil
	}
	ln.Close()
	return nil, fmt.Errorf("scheme %q: want %s, %s or %s", scheme, SchemeBoth, SchemeHTTPS, SchemeHTTP)
}

// dualListener hands out *tls.Conn for TLS clients (so net/http sets r.TLS)
// and the raw connection for plain ones. Classification runs in a goroutine
// per connection: a client that connects and sends nothing must not stall
// Accept for everybody else.
type dualListener struct {
	net.Listener
	cfg   *tls.Config
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	err   error // set before done is closed when the inner Accept fails
}

func (d *dualListener) acceptLoop() {
	for {
		c, err := d.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			d.close(err)
			return
		}
		go d.classify(c)
	}
}

func (d *dualListener) classify(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 {
		out = tls.Server(out, d.cfg)
	}
	select {
	case d.conns <- out:
	case <-d.done:
		c.Close()
	}
}

func (d *dualListener) Accept() (net.Conn, error) {
	select {
	case c := <-d.conns:
		return c, nil
	case <-d.done:
		if d.err != nil {
			return nil, d.err
		}
		return nil, net.ErrClosed
	}
}

func (d *dualListener) close(err error) {
	d.once.Do(func() {
		d.err = err
		close(d.done)
	})
}

func (d *dualListener) Close() error {
	d.close(nil)
	return d.Listener.Close()
}

// peekedConn replays the bytes read while classifying.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// NetConn is the connection beneath, as *tls.Conn's NetConn is: the
// index's reset fault needs the TCP connection to send an RST.
func (p *peekedConn) NetConn() net.Conn { return p.Conn }
