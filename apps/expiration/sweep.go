package main

import (
	"context"
	"encoding/json"
	"time"
)

// The sweep is the durable path under the reminders. A reminder whose
// deliveries fail (the app restarting, its sidecar down) is retried for ever
// (its failure policy, see reminderRequest), but one registered while the
// scheduler is failing over can still be lost, and a lost reminder would
// leave tickets locked for ever. A slot's record
// stays until every order of the slot is fired, so every interval the sweep
// fires each slot that should have ended more than grace ago. Reminders stay
// the fast path (milliseconds late); the sweep bounds the lateness of a lost
// one to about grace + interval. Firing twice is harmless: each order's
// firing sees the first one's mark.
func (s *scheduler) sweepEvery(ctx context.Context, interval, grace time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep(ctx, grace)
		}
	}
}

// sweep fires the overdue slots and returns how many it fired.
func (s *scheduler) sweep(ctx context.Context, grace time.Duration) int {
	overdue, err := s.overdueSlots(ctx, s.now().Add(-grace))
	if err != nil {
		s.log.Warn("sweep: could not list the slots", "err", err)
		return 0
	}
	n := 0
	for _, sl := range overdue {
		if err := s.fireSlot(ctx, sl.ID); err != nil {
			s.log.Warn("sweep: could not fire", "slot", sl.ID, "err", err)
			continue
		}
		n++
		s.log.Warn("sweep fired an overdue slot (its reminder was lost)", "slot", sl.ID, "start", sl.Start, "orders", len(sl.Orders))
	}
	return n
}

// slotsPage is the query of one page of slots (the index of
// migrations/0001_record_kinds serves it).
func slotsPage(token string) string {
	q, _ := json.Marshal(map[string]any{
		"filter": map[string]any{"EQ": map[string]any{"kind": slotKind}},
		"page":   map[string]any{"limit": 500, "token": token},
	})
	return string(q)
}

// overdueSlots lists the slots still held whose end is before cutoff, page by
// page through the state query API. A slot is deleted once fired, so the
// query finds the few slots ahead, not every slot there ever was.
func (s *scheduler) overdueSlots(ctx context.Context, cutoff time.Time) ([]slot, error) {
	var out []slot
	token := ""
	for {
		items, next, err := s.db.Query(ctx, slotsPage(token))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var sl slot
			if it.Decode(&sl) != nil || sl.Kind != slotKind || sl.ID == "" {
				continue
			}
			if sl.Start.Add(s.slotWidth).Before(cutoff) {
				out = append(out, sl)
			}
		}
		if next == "" || len(items) == 0 {
			return out, nil
		}
		token = next
	}
}
