package service

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/events"
)

// Env reads settings from an environment lookup, remembering every bad value
// so that a service reports all of them at once.
type Env struct {
	get  func(string) string
	errs []error
}

// NewEnv reads from getenv (os.Getenv in main, a map in tests).
func NewEnv(getenv func(string) string) *Env { return &Env{get: getenv} }

// String returns the value of k, or def when unset.
func (e *Env) String(k, def string) string {
	if v := e.get(k); v != "" {
		return v
	}
	return def
}

// Duration returns k parsed as a positive Go duration.
func (e *Env) Duration(k, def string) time.Duration {
	d, err := time.ParseDuration(e.String(k, def))
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: want a positive duration such as %s", k, def))
	}
	return d
}

// Float returns k parsed as a positive number.
func (e *Env) Float(k, def string) float64 {
	f, err := strconv.ParseFloat(e.String(k, def), 64)
	if err != nil || f <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: want a positive number such as %s", k, def))
	}
	return f
}

// Percent returns k parsed as a percentage from 0 up to, not including, 100.
func (e *Env) Percent(k, def string) float64 {
	f, err := strconv.ParseFloat(e.String(k, def), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f >= 100 {
		e.errs = append(e.errs, fmt.Errorf("%s: want a percentage from 0 to less than 100, such as %s", k, def))
	}
	return f
}

// Int returns k parsed as a positive integer.
func (e *Env) Int(k, def string) int {
	n, err := strconv.Atoi(e.String(k, def))
	if err != nil || n <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s: want a positive integer such as %s", k, def))
	}
	return n
}

// Err returns every bad setting read so far, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %w", errors.Join(e.errs...))
}

// Base is what every service reads the same way; a service that has no use
// for a setting (the client has no state store) ignores it.
type Base struct {
	Name          string        // the app's id
	Addr          string        // APP_HOST:APP_PORT, where the app listens (127.0.0.1 by default; 0.0.0.0 in a pod)
	DaprGRPCAddr  string        // 127.0.0.1:DAPR_GRPC_PORT, the sidecar's gRPC API
	DaprHTTPAddr  string        // 127.0.0.1:DAPR_HTTP_PORT, the sidecar's HTTP API
	SidecarWait   time.Duration // SIDECAR_WAIT: how long to wait for the sidecar at start
	LogFormat     string        // LOG_FORMAT: text (local) or json (clusters)
	LogLevel      string        // LOG_LEVEL: debug, info, warn, error
	StateStore    string        // STATE_STORE: the service's own state store component (<name>-store)
	PubSub        string        // PUBSUB: the pub/sub component events are published through
	SecretStore   string        // SECRET_STORE: the secret store component
	JWTSecretName string        // JWT_SECRET_NAME: the secret holding the session signing key
	RelayInterval time.Duration // OUTBOX_RELAY_INTERVAL: how often events that could not be published are tried again
	ProfileAddr   string        // PPROF_ADDR: serve Go's profiles (net/http/pprof) there; unset: not served
}

// Base reads the settings every service shares; name is the app's id and
// defaultPort its port, as in dapr.yaml.
func (e *Env) Base(name, defaultPort string) Base {
	return Base{
		Name:          name,
		Addr:          e.String("APP_HOST", "127.0.0.1") + ":" + e.String("APP_PORT", defaultPort),
		DaprGRPCAddr:  "127.0.0.1:" + e.String("DAPR_GRPC_PORT", "50001"),
		DaprHTTPAddr:  "127.0.0.1:" + e.String("DAPR_HTTP_PORT", "3500"),
		SidecarWait:   e.Duration("SIDECAR_WAIT", "2m"),
		LogFormat:     e.String("LOG_FORMAT", "text"),
		LogLevel:      e.String("LOG_LEVEL", "info"),
		StateStore:    e.String("STATE_STORE", name+"-store"),
		PubSub:        e.String("PUBSUB", events.PubSub),
		SecretStore:   e.String("SECRET_STORE", "secretstore"),
		JWTSecretName: e.String("JWT_SECRET_NAME", "jwt-key"),
		RelayInterval: e.Duration("OUTBOX_RELAY_INTERVAL", "2s"),
		ProfileAddr:   e.String("PPROF_ADDR", ""),
	}
}
