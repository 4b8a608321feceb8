package tracing

import (
	"context"
	"testing"
)

func TestNewIsValidAndCarried(t *testing.T) {
	tp := New()
	if !Valid(tp) {
		t.Fatalf("New() = %q, not a valid traceparent", tp)
	}
	if got := Parent(WithParent(context.Background(), tp)); got != tp {
		t.Errorf("Parent = %q, want %q", got, tp)
	}
	if got := TraceID(tp); len(got) != 32 || got != tp[3:35] {
		t.Errorf("TraceID = %q", got)
	}
}

func TestValid(t *testing.T) {
	cases := map[string]bool{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": true,
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": false,
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": false,
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01":  false,
		"garbage": false,
		"":        false,
	}
	for tp, want := range cases {
		if got := Valid(tp); got != want {
			t.Errorf("Valid(%q) = %v, want %v", tp, got, want)
		}
	}
}
