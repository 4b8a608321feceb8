package faults

import (
	"strings"
	"testing"

	"github.com/tixmesh/ticketing/tools/loadgen/check"
)

func TestMoneyLineSaysWhereTheMoneyWent(t *testing.T) {
	s := &check.Snapshot{
		Charges: []check.Charge{
			{OrderID: "o1", Amount: 2050, Destination: "acct_1", Fee: 205},
			{OrderID: "o2", Amount: 1000},
			{OrderID: "o3", Amount: 3335},
		},
		Transfers: []check.Transfer{{OrderID: "o2", Amount: 900}},
		Payments: map[string]check.PaymentView{
			"o1": {PaymentStatus: "succeeded", Amount: 2050, Fee: 205, Transfer: "destination"},
			"o2": {PaymentStatus: "succeeded", Amount: 1000, Fee: 100, Transfer: "sent"},
			"o3": {PaymentStatus: "succeeded", Amount: 3335, Fee: 334, Transfer: "pending"},
		},
	}
	got := moneyLine(s)
	for _, want := range []string{"3 charges took $63.85", "1 of them destination charges, which moved $18.45", "1 transfers after the charge sent $9.00",
		"$30.01 waits for sellers who never connected", "the platform's fees are $6.39", "0 refunds"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}
