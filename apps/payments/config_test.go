package main

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(c config) bool
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: func(c config) bool {
				return c.Addr == "127.0.0.1:3004" && c.StateStore == "payments-store" && c.SecretStore == "secretstore" &&
					c.JWTSecretName == "jwt-key" && c.StripeSecretName == "stripe-secret-key" &&
					c.StripeWebhookSecretName == "stripe-webhook-secret" && c.StripeAPIBase == "" && c.PubSub == "pubsub" &&
					c.TakeoverAfter == 30*time.Second && c.RelayInterval == 2*time.Second && c.feeBasisPoints() == 1000
			},
		},
		{
			name: "no platform fee",
			env:  map[string]string{"PLATFORM_FEE_PERCENT": "0"},
			want: func(c config) bool { return c.feeBasisPoints() == 0 },
		},
		{
			name: "a fee to the hundredth of a percent",
			env:  map[string]string{"PLATFORM_FEE_PERCENT": "2.75"},
			want: func(c config) bool { return c.feeBasisPoints() == 275 },
		},
		{
			name: "stripe-mock and a shorter takeover window",
			env:  map[string]string{"APP_PORT": "4004", "STRIPE_API_BASE": "http://127.0.0.1:12111", "PAYMENT_TAKEOVER_AFTER": "5s"},
			want: func(c config) bool {
				return c.Addr == "127.0.0.1:4004" && c.StripeAPIBase == "http://127.0.0.1:12111" && c.TakeoverAfter == 5*time.Second
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("config %+v does not match", c)
			}
		})
	}
}

func TestLoadConfigRejectsBadDurations(t *testing.T) {
	env := map[string]string{"PAYMENT_TAKEOVER_AFTER": "soon", "OUTBOX_RELAY_INTERVAL": "-1s"}
	_, err := loadConfig(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("loadConfig accepted bad durations")
	}
	for _, name := range []string{"PAYMENT_TAKEOVER_AFTER", "OUTBOX_RELAY_INTERVAL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLoadConfigRejectsAFeeThatIsNoPercentage(t *testing.T) {
	for _, fee := range []string{"100", "-1", "ten", "NaN"} {
		if _, err := loadConfig(func(k string) string { return map[string]string{"PLATFORM_FEE_PERCENT": fee}[k] }); err == nil ||
			!strings.Contains(err.Error(), "PLATFORM_FEE_PERCENT") {
			t.Errorf("PLATFORM_FEE_PERCENT=%s: %v, want an error naming it", fee, err)
		}
	}
}
