package main

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// bucket is a token bucket.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter keeps one token bucket per key. Buckets that have refilled are
// forgotten, so memory stays bounded by the number of recent clients.
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	buckets map[string]*bucket
	now     func() time.Time
	swept   time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{rate: perSecond, burst: float64(burst), buckets: map[string]*bucket{}, now: time.Now}
}

// allow takes a token for key, or says how long until one is available.
func (l *limiter) allow(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, true)
}

// peek says whether key has a token, without taking it.
func (l *limiter) peek(key string) (ok bool, retryAfter time.Duration) {
	return l.take(key, false)
}

func (l *limiter) take(key string, consume bool) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
		return false, wait
	}
	if consume {
		b.tokens--
	}
	return true, 0
}

func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// limits slows password guessing: every client has a budget of sign-ups and
// sign-ins, and every account a budget of failed sign-ins.
type limits struct {
	client  *limiter
	account *limiter
}

func newLimits(clientRate float64, clientBurst int, accountPerMinute float64, accountBurst int) *limits {
	return &limits{
		client:  newLimiter(clientRate, clientBurst),
		account: newLimiter(accountPerMinute/60, accountBurst),
	}
}

// clientKey is the caller's address: the last X-Forwarded-For hop (the one our
// own proxy or ingress appended) or the connection's remote address.
func clientKey(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		hops := strings.Split(xff, ",")
		return strings.TrimSpace(hops[len(hops)-1])
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
