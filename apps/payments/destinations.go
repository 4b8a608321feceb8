package main

import (
	"context"
	"sync"
	"time"
)

// destinations remembers for a few seconds where each seller's payments go:
// their connected account when it can receive transfers, or "" (the money
// waits on the platform). Every purchase asks, so asking the store each time
// costs a round trip per payment. A stale answer is safe either way: a seller
// who became ready a moment ago is paid by transfer instead (the reconciler
// sends it), and accountUpdated forgets the seller at once in this process.
type destinations struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]destination
}

type destination struct {
	account string
	at      time.Time
}

// maxDestinations bounds the memory: past it, everything is forgotten.
const maxDestinations = 100_000

func newDestinations(ttl time.Duration) *destinations {
	return &destinations{ttl: ttl, now: time.Now, m: map[string]destination{}}
}

// of returns the seller's destination account ("" for none), asking the
// store (load) when it does not know it, or knew it too long ago.
func (d *destinations) of(ctx context.Context, sellerID string, load func(context.Context, string) (Seller, bool, error)) (string, error) {
	now := d.now()
	d.mu.Lock()
	e, ok := d.m[sellerID]
	d.mu.Unlock()
	if ok && now.Sub(e.at) < d.ttl {
		return e.account, nil
	}
	s, found, err := load(ctx, sellerID)
	if err != nil {
		return "", err
	}
	account := ""
	if found && s.Ready {
		account = s.AccountID
	}
	d.mu.Lock()
	if len(d.m) >= maxDestinations {
		clear(d.m)
	}
	d.m[sellerID] = destination{account: account, at: now}
	d.mu.Unlock()
	return account, nil
}

// forget drops what is known of a seller (their account changed).
func (d *destinations) forget(sellerID string) {
	d.mu.Lock()
	delete(d.m, sellerID)
	d.mu.Unlock()
}
