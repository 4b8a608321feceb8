package main

import (
	"context"
	"testing"
	"time"
)

func TestDestinationsAreRememberedBrieflyAndForgottenOnChange(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	d := newDestinations(5 * time.Second)
	d.now = func() time.Time { return now }
	loads := 0
	seller := Seller{UserID: "s1", AccountID: "acct_1"}
	load := func(context.Context, string) (Seller, bool, error) { loads++; return seller, true, nil }

	if got, _ := d.of(context.Background(), "s1", load); got != "" || loads != 1 {
		t.Fatalf("not ready: %q after %d loads, want no destination after 1", got, loads)
	}
	seller.Ready = true
	if got, _ := d.of(context.Background(), "s1", load); got != "" || loads != 1 {
		t.Errorf("within the TTL: %q after %d loads, want the remembered answer", got, loads)
	}
	now = now.Add(5 * time.Second)
	if got, _ := d.of(context.Background(), "s1", load); got != "acct_1" || loads != 2 {
		t.Errorf("after the TTL: %q after %d loads, want acct_1 read again", got, loads)
	}
	seller.Ready = false
	d.forget("s1")
	if got, _ := d.of(context.Background(), "s1", load); got != "" || loads != 3 {
		t.Errorf("forgotten: %q after %d loads, want it read again", got, loads)
	}
}
