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
		want := config{HoldSweepInterval: 10 * time.Second, HoldGrace: 30 * time.Second, CallTimeout: 5 * time.Second}
		if cfg.StateStore != "tickets-store" || cfg.PubSub != "pubsub" || cfg.RelayInterval != 2*time.Second {
			t.Errorf("store %q, pub/sub %q, relay %v; want tickets-store, pubsub, 2s", cfg.StateStore, cfg.PubSub, cfg.RelayInterval)
		}
		want.Base = cfg.Base
		if cfg != want {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
		if got, want := cfg.Addr, "127.0.0.1:3002"; got != want {
			t.Errorf("Addr = %q, want %q", got, want)
		}
	})
	t.Run("a bad interval is reported", func(t *testing.T) {
		env := map[string]string{"OUTBOX_RELAY_INTERVAL": "soon"}
		if _, err := loadConfig(func(k string) string { return env[k] }); err == nil {
			t.Error("got no error, want one naming OUTBOX_RELAY_INTERVAL")
		}
	})
}
