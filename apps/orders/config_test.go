package main

import (
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := loadConfig(func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		want := config{ExpirationWindow: 15 * time.Minute, PaymentLease: 45 * time.Second, CallTimeout: 5 * time.Second}
		want.Base = cfg.Base
		if cfg.StateStore != "orders-store" || cfg.PubSub != "pubsub" {
			t.Errorf("store %q, pub/sub %q; want orders-store, pubsub", cfg.StateStore, cfg.PubSub)
		}
		if cfg != want {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
		if got, want := cfg.Addr, "127.0.0.1:3003"; got != want {
			t.Errorf("Addr = %q, want %q", got, want)
		}
	})
	t.Run("the window is read as a Go duration", func(t *testing.T) {
		env := map[string]string{"ORDER_EXPIRATION_WINDOW": "90s"}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cfg.ExpirationWindow, 90*time.Second; got != want {
			t.Errorf("ExpirationWindow = %v, want %v", got, want)
		}
	})
	t.Run("a bad window is reported", func(t *testing.T) {
		env := map[string]string{"ORDER_EXPIRATION_WINDOW": "15"}
		if _, err := loadConfig(func(k string) string { return env[k] }); err == nil {
			t.Error("got no error, want one naming ORDER_EXPIRATION_WINDOW")
		}
	})
}
