package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/fakepypi/fakepypi/internal/httpserver"
)

// Server serves a Proxy on a loopback port.
type Server struct {
	p   *Proxy
	ln  net.Listener
	srv *http.Server
	url *url.URL
}

// Start serves p on 127.0.0.1 at a free port. Loopback only: the proxy
// answers for PyPI's hostnames and must not be reachable from elsewhere.
func Start(p *Proxy) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	s := &Server{
		p:   p,
		ln:  ln,
		srv: httpserver.New(p, p.limits, p.log),
		url: &url.URL{Scheme: "http", Host: ln.Addr().String()},
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Error("proxy: serve failed", "err", err)
		}
	}()
	return s, nil
}

// URL returns the proxy's URL, such as http://127.0.0.1:41234, for
// HTTPS_PROXY and HTTP_PROXY. The scheme is http even for HTTPS traffic:
// clients speak plain HTTP to the proxy and TLS inside the CONNECT tunnel.
func (s *Server) URL() string { return s.url.String() }

// Proxy returns the proxy being served.
func (s *Server) Proxy() *Proxy { return s.p }

// Env returns environment entries ("KEY=value") that send a child
// process's HTTP and HTTPS traffic through the proxy: both spellings of
// each variable (curl reads only lower-case http_proxy; others prefer
// upper case), and empty NO_PROXY/no_proxy so an inherited value cannot
// route loopback or any other host around it. Combine with the CA's Env.
func (s *Server) Env() []string {
	u := s.URL()
	return []string{
		"HTTPS_PROXY=" + u, "https_proxy=" + u,
		"HTTP_PROXY=" + u, "http_proxy=" + u,
		"NO_PROXY=", "no_proxy=",
	}
}

// Client returns an HTTP client that sends every request through the
// proxy and trusts only the proxy's CA: a Go stand-in for a harnessed
// publishing client.
func (s *Server) Client() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyURL(s.url)
	t.TLSClientConfig = &tls.Config{RootCAs: s.p.ca.CertPool()}
	return &http.Client{Transport: t}
}

// Close stops the listener, closes the proxy connections and the Proxy
// with its tunnels.
func (s *Server) Close() error {
	err := s.srv.Close()
	return errors.Join(err, s.p.Close())
}
