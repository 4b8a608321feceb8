// Package delivery is the app side of the sidecar's event deliveries: it
// decodes what the sidecar POSTs (one CloudEvent, or a bulk of them), hands
// the events to a handler as one batch, and answers SUCCESS, RETRY or DROP
// for each, as the handler says out loud.
package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/store"
	"github.com/tixmesh/ticketing/apps/pkg/web"
)

// Event is one delivery of a CloudEvent from the sidecar.
type Event struct {
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	// TraceParent is the W3C trace context the event was published under:
	// the work it causes continues that trace.
	TraceParent string `json:"traceparent"`
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

// BatchHandler handles deliveries together and returns each one's outcome, in
// order, with EventHandler's meaning: nil (SUCCESS), an error made with Drop
// (DROP), any other error (RETRY).
type BatchHandler func(ctx context.Context, es []Event) []error

// Apply makes a BatchHandler of a per-event decision: build turns each event
// into the Change it asks for (or fails it: DROP for a payload that can never
// decode), and the changes of a batch are applied together (store.ApplyAll),
// each continuing its event's trace. The Change's error is the event's
// outcome.
func Apply[T any](db *store.Store, build func(Event) (store.Change[T], error)) BatchHandler {
	return func(ctx context.Context, es []Event) []error {
		errs := make([]error, len(es))
		cs := make([]store.Change[T], 0, len(es))
		idx := make([]int, 0, len(es))
		for i, e := range es {
			c, err := build(e)
			if err != nil {
				errs[i] = err
				continue
			}
			if c.Trace == "" {
				c.Trace = e.TraceParent
			}
			cs = append(cs, c)
			idx = append(idx, i)
		}
		_, applied := store.ApplyAll(ctx, db, cs)
		for j, err := range applied {
			errs[idx[j]] = err
		}
		return errs
	}
}

// delivery is what the sidecar POSTs: a bulk delivery (the Subscription has
// bulkSubscribe enabled) carries entries, each a CloudEvent; a single one is
// the CloudEvent itself.
type delivery struct {
	Event
	Entries []struct {
		EntryID string          `json:"entryId"`
		Event   json.RawMessage `json:"event"`
	} `json:"entries"`
}

type entryStatus struct {
	EntryID string `json:"entryId"`
	Status  string `json:"status"`
}

// Deliveries adapts a BatchHandler to the sidecar's two HTTP delivery
// protocols. A bulk delivery (many events in one request, which the sidecar
// batches for up to maxAwaitDurationMs) is answered with one status per entry
// ({"statuses": [{"entryId", "status"}]}); a single delivery with
// {"status": "SUCCESS" | "RETRY" | "DROP"}. Which one arrives is the
// Subscription's YAML, never code.
func Deliveries(log *slog.Logger, h BatchHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var d delivery
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
		if err == nil {
			err = json.Unmarshal(body, &d)
		}
		if err != nil {
			log.Error("dropping an undecodable delivery", "err", err)
			writeJSON(w, map[string]string{"status": "DROP"})
			return
		}
		if d.Entries == nil {
			err := h(r.Context(), []Event{d.Event})[0]
			status := outcome(log, d.Event, err, start)
			annotate(r.Context(), []entryStatus{{Status: status}})
			writeJSON(w, map[string]string{"status": status})
			return
		}
		statuses := make([]entryStatus, len(d.Entries))
		es := make([]Event, 0, len(d.Entries))
		idx := make([]int, 0, len(d.Entries))
		for i, en := range d.Entries {
			statuses[i].EntryID = en.EntryID
			var e Event
			if err := json.Unmarshal(en.Event, &e); err != nil {
				log.Error("dropping an undecodable entry of a bulk delivery", "entry", en.EntryID, "err", err)
				statuses[i].Status = "DROP"
				continue
			}
			es = append(es, e)
			idx = append(idx, i)
		}
		if len(es) > 0 {
			for j, err := range h(r.Context(), es) {
				statuses[idx[j]].Status = outcome(log, es[j], err, start)
			}
		}
		annotate(r.Context(), statuses)
		writeJSON(w, map[string]any{"statuses": statuses})
	})
}

// annotate puts how many events the delivery carried, and their outcomes, on
// its request's log line.
func annotate(ctx context.Context, statuses []entryStatus) {
	counts := map[string]int{}
	for _, st := range statuses {
		counts[st.Status]++
	}
	web.Annotate(ctx, slog.Int("events", len(statuses)),
		slog.Int("success", counts["SUCCESS"]), slog.Int("retry", counts["RETRY"]), slog.Int("drop", counts["DROP"]))
}

// outcome names and logs a delivery's outcome.
func outcome(log *slog.Logger, e Event, err error, start time.Time) string {
	switch {
	case err == nil:
		log.Debug("event handled", "topic", e.Topic, "event", e.ID, "duration", time.Since(start))
		return "SUCCESS"
	case IsDrop(err):
		log.Error("event dropped", "topic", e.Topic, "event", e.ID, "err", err)
		return "DROP"
	default:
		log.Warn("event will be redelivered", "topic", e.Topic, "event", e.ID, "err", err)
		return "RETRY"
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
