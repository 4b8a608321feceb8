package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
	"github.com/tixmesh/ticketing/apps/pkg/store"
)

// hookedStore is a paymentStore over a hookedState; writes made by hooks go
// to fake directly.
func hookedStore(t *testing.T) (*paymentStore, *sidecartest.State, *hookedState) {
	t.Helper()
	fake := sidecartest.NewState()
	hooked := &hookedState{State: fake, before: map[int]func(){}, after: map[int]func(){}}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	return newPaymentStore(store.New(hooked, &sidecartest.Publisher{}, log), 0), fake, hooked
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
		// before[n] is written just before the n-th write of the claim
		// (nil: the payment is deleted); the claim then reads again.
		before  map[int]*Payment
		wantErr error
		wantID  string
	}{
		{name: "a free order is claimed", wantID: "p-new"},
		{name: "a stale claim is taken over", existing: &stale, wantID: "p-old"},
		{name: "a young claim is left alone", existing: &young, wantErr: ErrPaymentInProgress},
		{name: "a paid order is not claimed", existing: &paid, wantErr: ErrAlreadyPaid},
		{
			name: "another request takes the stale claim over first", existing: &stale,
			before:  map[int]*Payment{1: &takenByOther},
			wantErr: ErrPaymentInProgress,
		},
		{
			name:    "another request claims the free order first",
			before:  map[int]*Payment{1: &young},
			wantErr: ErrPaymentInProgress,
		},
		{
			name:    "the order is paid before the claim is written",
			before:  map[int]*Payment{1: &paid},
			wantErr: ErrAlreadyPaid,
		},
		{
			name: "the stale claim is released before it is taken over", existing: &stale,
			before: map[int]*Payment{1: nil},
			wantID: "p-new",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payments, fake, hooked := hookedStore(t)
			if tt.existing != nil {
				put(t, fake, *tt.existing)
			}
			for n, p := range tt.before {
				hooked.before[n] = func() {
					if p == nil {
						remove(t, fake, "o1")
					} else {
						put(t, fake, *p)
					}
				}
			}

			got, err := payments.claim(context.Background(), fresh, now, window)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("claim: err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			stored, _, _ := payments.payment(context.Background(), "o1")
			if got.ID != tt.wantID || !sameAttempt(got, stored) {
				t.Errorf("claim %+v, want %s as stored %+v", got, tt.wantID, stored)
			}
		})
	}
}

func TestClaimGivesUpWhenWritesKeepLosing(t *testing.T) {
	fake := sidecartest.NewState()
	state := conflictingState{State: fake}
	payments := newPaymentStore(store.New(state, &sidecartest.Publisher{}, slog.New(slog.NewTextHandler(t.Output(), nil))), 0)
	fresh := Payment{ID: "p-new", OrderID: "o1", Status: PaymentPending, AttemptAt: time.Now()}
	if _, err := payments.claim(context.Background(), fresh, time.Now(), time.Minute); !errors.Is(err, ErrPaymentInProgress) {
		t.Errorf("claim: err = %v, want %v", err, ErrPaymentInProgress)
	}
}

func TestAddOrderRacingAnotherDelivery(t *testing.T) {
	payments, fake, hooked := hookedStore(t)
	o := Order{ID: "o1", UserID: "buyer", Price: 20.5, Status: "created"}
	hooked.before[1] = func() {
		if err := fake.Transact(context.Background(), sidecar.Op{Key: orderKey("o1"), Value: o}); err != nil {
			t.Error(err)
		}
	}
	added, err := store.Apply(context.Background(), payments.db, newOrderCopyChange(o))
	if err != nil || added {
		t.Errorf("addOrder = %v, %v; want false, nil (the other delivery added it)", added, err)
	}
}
