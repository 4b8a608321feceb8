package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestRunFailsFast: run returns an error, rather than serving half-configured,
// when its settings are bad or its sidecar never becomes ready.
func TestRunFailsFast(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"a bad setting", map[string]string{"PAYMENT_TAKEOVER_AFTER": "0s"}, "PAYMENT_TAKEOVER_AFTER"},
		{"no sidecar", map[string]string{"DAPR_HTTP_PORT": "1", "SIDECAR_WAIT": "50ms"}, "never became ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run: err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}
