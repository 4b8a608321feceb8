package mesh

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

func (m *Mesh) stripeMockProc() *Proc {
	return m.proc("stripe-mock", "infra", m.bin("stripe-mock"), []string{
		"-http-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeMock),
		"-https-addr", fmt.Sprintf("127.0.0.1:%d", m.ports.StripeTLS),
	})
}

// StripeURL is stripe-mock's base URL.
func (m *Mesh) StripeURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.ports.StripeMock) }

// StripeCall is one request the apps sent to the Stripe API.
type StripeCall struct {
	Method         string
	Path           string
	IdempotencyKey string
	OrderID        string // metadata[orderId] of a charge, when present
	Status         int
	At             time.Time
}

// RecorderCallsPath is where the recorder lists, as JSON, every call it has
// seen: the load generator's checker counts charges there. The recorder's
// address is in the mesh's data directory, in the file RecorderFile.
const (
	RecorderCallsPath = "/_recorder/calls"
	RecorderFile      = "stripe-recorder.url"
)

// stripeRecorder sits between the apps and stripe-mock and records every call.
// stripe-mock is stateless (it neither honours idempotency keys nor remembers
// charges), so "charged once" is proven by counting here, at the edge.
type stripeRecorder struct {
	mu    sync.Mutex
	calls []StripeCall
	srv   *http.Server
	addr  string
}

func startStripeRecorder(target string) (*stripeRecorder, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rec := &stripeRecorder{}
	rp := httputil.NewSingleHostReverseProxy(u)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == RecorderCallsPath {
			w.Header().Set("Content-Type", "application/json")
			rec.mu.Lock()
			defer rec.mu.Unlock()
			_ = json.NewEncoder(w).Encode(rec.calls)
			return
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(bytes.NewReader(body))
		call := StripeCall{Method: r.Method, Path: r.URL.Path, IdempotencyKey: r.Header.Get("Idempotency-Key"), At: time.Now()}
		if vals, err := url.ParseQuery(string(body)); err == nil {
			call.OrderID = vals.Get("metadata[orderId]")
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		call.Status = sw.status
		rec.mu.Lock()
		rec.calls = append(rec.calls, call)
		rec.mu.Unlock()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rec.addr = ln.Addr().String()
	rec.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = rec.srv.Serve(ln) }()
	return rec, nil
}

func (s *stripeRecorder) url() string { return fmt.Sprintf("http://%s", s.addr) }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// StripeCalls returns every call the apps made to the Stripe API so far.
func (m *Mesh) StripeCalls() []StripeCall {
	if m.stripe == nil {
		return nil
	}
	m.stripe.mu.Lock()
	defer m.stripe.mu.Unlock()
	return append([]StripeCall(nil), m.stripe.calls...)
}
