package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

// hookedStore is a paymentStore over a hookedState; writes made by hooks go
// to fake directly.
func hookedStore(t *testing.T) (*paymentStore, *sidecartest.State, *hookedState) {
	t.Helper()
	fake := sidecartest.NewState()
	hooked := &hookedState{State: fake, before: map[int]func(){}, after: map[int]func(){}}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	return newPaymentStore(hooked, sidecar.NewOutbox(hooked, &sidecartest.Publisher{}, log)), fake, hooked
}

func put(t *testing.T, fake *sidecartest.State, p Payment) {
	t.Helper()
	if err := fake.Transact(context.Background(), sidecar.Op{Key: paymentKey(p.OrderID), Value: p}); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, fake *sidecartest.State, orderID string) {
	t.Helper()
	if err := fake.Transact(context.Background(), sidecar.Op{Key: paymentKey(orderID), Delete: true}); err != nil {
		t.Fatal(err)
	}
}

// TestClaimRaces puts another request's write at each step of a claim: the
// claim either ends up held by this request alone, or fails and says why.
func TestClaimRaces(t *testing.T) {
	const window = 30 * time.Second
	now := time.Now().UTC()
	stale := Payment{ID: "p-old", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_old", AttemptAt: now.Add(-time.Hour)}
	young := stale
	young.ID, young.AttemptAt = "p-young", now
	paid := stale
	paid.Status, paid.StripeID, paid.Token, paid.Version = PaymentSucceeded, "ch_1", "", 1
	takenByOther := stale
	takenByOther.AttemptAt, takenByOther.Version = now, 1
	fresh := Payment{ID: "p-new", OrderID: "o1", UserID: "buyer", Amount: 2050, Status: PaymentPending, Token: "tok_new", AttemptAt: now}

	tests := []struct {
		name     string
		existing *Payment
		before   map[int]Payment // written just before the n-th write of the claim
		after    map[int]*Payment
		wantErr  error
		wantID   string
	}{
		{name: "a free order is claimed", wantID: "p-new"},
		{name: "a stale claim is taken over", existing: &stale, wantID: "p-old"},
		{name: "a young claim is left alone", existing: &young, wantErr: ErrPaymentInProgress},
		{
			name: "another request takes the stale claim over first", existing: &stale,
			before:  map[int]Payment{2: takenByOther},
			wantErr: ErrPaymentInProgress,
		},
		{
			name: "the claim is released between the race and the read", existing: &young,
			after:  map[int]*Payment{1: nil},
			wantID: "p-new",
		},
		{
			name:    "the order is paid before the claim is read back",
			after:   map[int]*Payment{1: &paid},
			wantErr: ErrAlreadyPaid,
		},
		{
			name:    "another claim replaces this one before it is read back",
			after:   map[int]*Payment{1: &young},
			wantErr: ErrPaymentInProgress,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, fake, hooked := hookedStore(t)
			if tt.existing != nil {
				put(t, fake, *tt.existing)
			}
			for n, p := range tt.before {
				hooked.before[n] = func() { put(t, fake, p) }
			}
			for n, p := range tt.after {
				hooked.after[n] = func() {
					if p == nil {
						remove(t, fake, "o1")
					} else {
						put(t, fake, *p)
					}
				}
			}

			got, err := store.claim(context.Background(), fresh, now, window)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("claim: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			stored, _ := store.payment(context.Background(), "o1")
			if got.p.ID != tt.wantID || got.etag != stored.etag || !sameAttempt(got.p, stored.p) {
				t.Errorf("claim %+v (etag %s), want %s as stored %+v (etag %s)", got.p, got.etag, tt.wantID, stored.p, stored.etag)
			}
		})
	}
}

func TestClaimGivesUpWhenWritesKeepLosing(t *testing.T) {
	fake := sidecartest.NewState()
	state := conflictingState{State: fake}
	store := newPaymentStore(state, sidecar.NewOutbox(state, &sidecartest.Publisher{}, slog.New(slog.NewTextHandler(t.Output(), nil))))
	fresh := Payment{ID: "p-new", OrderID: "o1", Status: PaymentPending, AttemptAt: time.Now()}
	if _, err := store.claim(context.Background(), fresh, time.Now(), time.Minute); !errors.Is(err, ErrPaymentInProgress) {
		t.Errorf("claim: err = %v, want %v", err, ErrPaymentInProgress)
	}
}

func TestAddOrderRacingAnotherDelivery(t *testing.T) {
	store, fake, hooked := hookedStore(t)
	o := Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: "created"}
	hooked.before[1] = func() {
		if err := fake.Transact(context.Background(), sidecar.Op{Key: orderKey("o1"), Value: o}); err != nil {
			t.Error(err)
		}
	}
	added, err := store.addOrder(context.Background(), o)
	if err != nil || added {
		t.Errorf("addOrder = %v, %v; want false, nil (the other delivery added it)", added, err)
	}
}
