package conformance

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// cuttingProxy forwards TCP connections to a server and, once armed, cuts the
// first connection that carries more than a given number of bytes from the
// server (both directions closed at once, as a crashed server or a network
// fault would).
type cuttingProxy struct {
	addr     string
	target   string
	armed    atomic.Int64 // bytes from the server to let through before cutting; 0: never
	cut      atomic.Bool
	mu       sync.Mutex
	conns    []net.Conn
	listener net.Listener
}

func newCuttingProxy(t *testing.T, target string) *cuttingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{addr: l.Addr().String(), target: target, listener: l}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// cutAfter arms the proxy: the next connection to receive more than n bytes
// from the server (counted from now) is cut.
func (p *cuttingProxy) cutAfter(n int64) {
	p.cut.Store(false)
	p.armed.Store(n)
}

func (p *cuttingProxy) didCut() bool { return p.cut.Load() }

func (p *cuttingProxy) serve() {
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close(); c.Close() }()
		go p.fromServer(c, s)
	}
}

// fromServer copies the server's bytes to the client, counting them while the
// proxy is armed.
func (p *cuttingProxy) fromServer(c, s net.Conn) {
	defer c.Close()
	defer s.Close()
	buf := make([]byte, 16<<10)
	var seen int64
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if limit := p.armed.Load(); limit > 0 {
				seen += int64(n)
				if seen > limit && p.armed.CompareAndSwap(limit, 0) {
					p.cut.Store(true)
					return // the deferred closes cut both sides
				}
			} else {
				seen = 0
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cuttingProxy) close() {
	p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
