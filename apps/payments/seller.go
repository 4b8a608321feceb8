package main

import (
	"time"
)

// Sellers are paid through Stripe Connect. A seller connects a payout
// account (an Express connected account) from the web client's "Get paid"
// page: payments creates the account and an Account Link, Stripe's hosted
// onboarding does the rest, and account.updated says when the account can
// receive transfers. A payment for a ticket whose seller can is a
// destination charge: the seller's account is the destination, the
// platform's fee its application fee. Otherwise the money waits on the
// platform as a pending transfer, sent when the seller connects.

// Seller is a seller's payout account, as far as payments knows it.
type Seller struct {
	UserID    string `json:"userId"`
	AccountID string `json:"accountId"` // acct_...
	// Ready: the account can receive transfers (its transfers capability is
	// active); Payouts: it can pay out to the seller's bank.
	Ready     bool      `json:"ready"`
	Payouts   bool      `json:"payouts"`
	Submitted bool      `json:"detailsSubmitted"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// TransferStatus is where a payment's seller share stands.
type TransferStatus string

const (
	// TransferWithCharge: a destination charge; Stripe moved the share with
	// the charge.
	TransferWithCharge TransferStatus = "destination"
	// TransferPending: the money waits on the platform until the seller
	// connects a payout account.
	TransferPending TransferStatus = "pending"
	// TransferSent: transferred to the seller's account afterwards.
	TransferSent TransferStatus = "sent"
	// TransferReversed: the payment was refunded; the share came back.
	TransferReversed TransferStatus = "reversed"
	// TransferCancelled: refunded before it was ever sent.
	TransferCancelled TransferStatus = "cancelled"
)

// feeOf is the platform's fee on amount cents at basisPoints (1000 = 10%),
// rounded half up to the cent: exact in cents, and never more than amount.
func feeOf(amount, basisPoints int64) int64 {
	fee := (amount*basisPoints + 5000) / 10000
	return min(max(fee, 0), amount)
}
