package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync/atomic"
	"time"
)

// shopper is one signed-in user with its own cookies.
type shopper struct {
	base string
	http *http.Client
	id   string
}

var transport = &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second}

var users atomic.Int64

func newShopper(ctx context.Context, base, role string) (*shopper, error) {
	jar, _ := cookiejar.New(nil)
	s := &shopper{base: base, http: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second}}
	email := fmt.Sprintf("loadgen-%s-%d-%d@example.com", role, time.Now().UnixNano(), users.Add(1))
	var me struct{ ID string }
	status, _, err := s.call(ctx, "POST", "/api/users/signup", map[string]string{"email": email, "password": "loadgen-pw"}, &me)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("sign up: status %d", status)
	}
	s.id = me.ID
	return s, nil
}

// call sends a JSON request and decodes a JSON answer into out (when not nil).
func (s *shopper) call(ctx context.Context, method, path string, body, out any) (int, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
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
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, took, err
		}
	}
	return resp.StatusCode, took, nil
}
