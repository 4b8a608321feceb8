package crowd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Shopper is one signed-in user of the public origin, with its own cookies.
type Shopper struct {
	Base  string
	Email string
	ID    string
	http  *http.Client
}

var transport = &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second}

var users atomic.Int64

// CheckLoopback refuses any origin but this machine's: the crowd is a load
// test, never pointed at someone else's service.
func CheckLoopback(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if h := u.Hostname(); h != "localhost" && !strings.HasPrefix(h, "127.") && h != "::1" {
		return fmt.Errorf("%s: the load generator only targets loopback", base)
	}
	return nil
}

// SignUp creates a fresh user (role names it in the email) and signs it in.
func SignUp(ctx context.Context, base, role string) (*Shopper, error) {
	jar, _ := cookiejar.New(nil)
	s := &Shopper{Base: base, http: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second}}
	s.Email = fmt.Sprintf("crowd-%s-%d-%d@example.com", role, time.Now().UnixNano(), users.Add(1))
	var me struct{ ID string }
	status, _, err := s.Call(ctx, "POST", "/api/users/signup", map[string]string{"email": s.Email, "password": "crowd-password"}, &me)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("sign up %s: status %d", s.Email, status)
	}
	s.ID = me.ID
	return s, nil
}

// Call sends a JSON request and decodes a 2xx JSON answer into out (when not
// nil). It returns the status and how long the exchange took.
func (s *Shopper) Call(ctx context.Context, method, path string, body, out any) (int, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Base+path, rd)
	if err != nil {
		return 0, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if out != nil && resp.StatusCode/100 == 2 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, took, fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, took, nil
}
