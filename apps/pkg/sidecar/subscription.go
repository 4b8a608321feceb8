package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Event is one delivery of a CloudEvent from the sidecar.
type Event struct {
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

// EventHandler handles one delivery. Its error decides the outcome, out loud:
// nil acknowledges (SUCCESS); an error made with Drop discards a message that
// can never succeed (DROP); any other error asks for redelivery later (RETRY).
type EventHandler func(ctx context.Context, e Event) error

type dropError struct{ err error }

func (d dropError) Error() string { return "drop: " + d.err.Error() }
func (d dropError) Unwrap() error { return d.err }

// Drop marks err as permanent: the message is discarded, not retried.
func Drop(err error) error { return dropError{err} }

// IsDrop reports whether err was marked with Drop.
func IsDrop(err error) bool { return errors.As(err, new(dropError)) }

// ErrOutOfOrder is for an event that arrived before the one it follows: retry
// it later, once the gap has been filled.
var ErrOutOfOrder = errors.New("event arrived out of order")

// DecodeData unmarshals the event's payload; a payload that does not decode is
// a poison message and is dropped.
func DecodeData[T any](e Event) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, Drop(fmt.Errorf("decode %s event %s: %w", e.Topic, e.ID, err))
	}
	return v, nil
}

// Subscription adapts an EventHandler to the sidecar's HTTP delivery protocol:
// it answers 200 with {"status": "SUCCESS" | "RETRY" | "DROP"}.
func Subscription(log *slog.Logger, h EventHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var e Event
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		if err != nil {
			log.Error("dropping an undecodable delivery", "err", err)
			writeStatus(w, "DROP")
			return
		}
		err = h(r.Context(), e)
		switch {
		case err == nil:
			log.Debug("event handled", "topic", e.Topic, "event", e.ID, "duration", time.Since(start))
			writeStatus(w, "SUCCESS")
		case IsDrop(err):
			log.Error("event dropped", "topic", e.Topic, "event", e.ID, "err", err)
			writeStatus(w, "DROP")
		default:
			log.Warn("event will be redelivered", "topic", e.Topic, "event", e.ID, "err", err)
			writeStatus(w, "RETRY")
		}
	})
}

func writeStatus(w http.ResponseWriter, status string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"`+status+`"}`)
}
