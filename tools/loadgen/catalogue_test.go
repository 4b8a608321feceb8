package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestParseSizes(t *testing.T) {
	if got, err := parseSizes("100, 10000,100000"); err != nil || len(got) != 3 || got[2] != 100000 {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "100,100", "1000,10", "ten", "-5"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}

// A stand-in site: the scenario lists exactly up to each size and reads
// each page -reads times at each size.
func TestCatalogueListsUpToEachSizeAndReads(t *testing.T) {
	var listed, landing, api atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/users/signup":
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"u1"}`))
		case r.Method == "POST" && r.URL.Path == "/api/tickets":
			listed.Add(1)
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"t"}`))
		case r.URL.Path == "/":
			landing.Add(1)
			_, _ = w.Write([]byte("<html></html>"))
		case r.URL.Path == "/api/tickets":
			api.Add(1)
			_, _ = w.Write([]byte("[]"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	o := options{url: srv.URL, sizes: "5,30", reads: 10, buyers: 3, command: "test"}
	r, err := runCatalogue(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if listed.Load() != 30 || landing.Load() != 20 || api.Load() != 20 {
		t.Errorf("listed %d, read / %d and /api/tickets %d times; want 30, 20, 20", listed.Load(), landing.Load(), api.Load())
	}
	md := r.markdown(o)
	for _, want := range []string{"| 5 | `GET /` (landing page) | 10 |", "| 30 | `GET /api/tickets` | 10 |", "p99 at the largest / at the smallest"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// Each page's row counts its own failed reads, whatever kind they were.
func TestCatalogueCountsEachPagesFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/users/signup":
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"id":"u1"}`))
		case r.Method == "POST":
			w.WriteHeader(201)
		case r.URL.Path == "/": // the connection drops: no answer at all
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			_, _ = w.Write([]byte("[]"))
		}
	}))
	defer srv.Close()
	o := options{url: srv.URL, sizes: "2", reads: 4, buyers: 2, command: "test"}
	r, err := runCatalogue(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	md := r.markdown(o)
	for _, want := range []string{"| 2 | `GET /` (landing page) | 0 | ", " | 4 |\n| 2 | `GET /api/tickets` | 4 |", " | 0 |\n", "- 2 tickets: GET /: "} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}
