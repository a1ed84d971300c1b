package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// handshakeTimeout bounds how long a client may take to start TLS inside a
// tunnel; a client that does not trust the CA fails well within it.
const handshakeTimeout = 10 * time.Second

// serveConnect opens a tunnel to an emulated host: it answers 200, takes
// the connection over, terminates TLS with a leaf for the CONNECT target
// and passes the connection to the inner server.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		http.Error(w, "fakepypi proxy: CONNECT target must be host:port, got "+target, http.StatusBadRequest)
		return
	}
	if p.route(host) == nil {
		p.refuse(w, r, target)
		return
	}
	leaf, err := p.ca.Leaf(host)
	if err != nil {
		http.Error(w, "fakepypi proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		http.Error(w, errClosed.Error(), http.StatusServiceUnavailable)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 CONNECT cannot be hijacked; clients use HTTP/1.1 to
		// proxies, and the Server speaks nothing else.
		http.Error(w, "fakepypi proxy: cannot take over this connection: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The outer server's deadlines were for reading the CONNECT request.
	conn.SetDeadline(time.Time{})
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	tc := &tunnelConn{Conn: conn, p: p}
	// A client may send its ClientHello without waiting for our 200; the
	// outer server may already have buffered those bytes.
	if brw.Reader.Buffered() > 0 {
		tc.r = brw.Reader
	}
	if !p.track(tc) {
		conn.Close()
		return
	}
	tlsConn := tls.Server(tc, &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{*leaf},
		NextProtos:   []string{"http/1.1"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err = tlsConn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		// The usual cause is a client that does not trust the CA; it
		// reports "unknown certificate authority" or "bad certificate".
		p.log.Warn("proxy: TLS handshake inside tunnel failed; does the client trust the fakepypi CA bundle?",
			"target", target, "client", r.RemoteAddr, "err", err, "bundle", p.ca.BundlePath())
		tlsConn.Close()
		return
	}
	p.log.Debug("proxy: tunnel open", "target", target, "client", r.RemoteAddr)
	p.targets.Store(tlsConn, tunnelTarget{host: hostKey(host), target: target, authority: displayHost(target, "443")})
	if err := p.ln.push(tlsConn); err != nil {
		p.targets.Delete(tlsConn)
		tlsConn.Close()
	}
}

func (p *Proxy) track(c *tunnelConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.tunnels[c] = struct{}{}
	return true
}

// tunnelConn is the client's connection after CONNECT. It reads bytes the
// outer server buffered first, and forgets itself in the proxy on Close so
// Proxy.Close can reach every live tunnel, hijacked or not.
type tunnelConn struct {
	net.Conn
	r    *bufio.Reader // nil when nothing was buffered
	p    *Proxy
	once sync.Once
}

func (c *tunnelConn) Read(b []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(b)
		}
		c.r = nil
	}
	return c.Conn.Read(b)
}

func (c *tunnelConn) Close() error {
	c.once.Do(func() {
		c.p.mu.Lock()
		delete(c.p.tunnels, c)
		c.p.mu.Unlock()
	})
	return c.Conn.Close()
}

// chanListener is a net.Listener whose connections are handed to it by
// serveConnect: one http.Server then serves all tunnels, with its usual
// keep-alive, body streaming and Hijacker support.
type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newChanListener() *chanListener {
	return &chanListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) push(c net.Conn) error {
	select {
	case l.conns <- c:
		return nil
	case <-l.done:
		return net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return tunnelAddr{} }

type tunnelAddr struct{}

func (tunnelAddr) Network() string { return "tunnel" }
func (tunnelAddr) String() string  { return "fakepypi-proxy-tunnels" }
