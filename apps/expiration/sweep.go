package main

import (
	"context"
	"encoding/json"
	"time"
)

// The sweep is the durable path under the reminders. Dapr 1.16 drops a
// reminder after four failed deliveries (the app restarting, its sidecar
// down), and a reminder registered while the scheduler is failing over can be
// lost with it: either would leave the order's ticket locked for ever. The
// schedule record knows the deadline, so every interval the sweep fires each
// order still scheduled more than grace past its deadline. Reminders stay the
// fast path (milliseconds late); the sweep bounds the lateness of a lost one
// to about grace + interval. Firing twice is harmless: tryFire sees the first
// one's mark.
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

// sweep fires the overdue schedules and returns how many it fired.
func (s *scheduler) sweep(ctx context.Context, grace time.Duration) int {
	overdue, err := s.store.overdue(ctx, s.now().Add(-grace))
	if err != nil {
		s.log.Warn("sweep: could not list the schedules", "err", err)
		return 0
	}
	n := 0
	for _, sc := range overdue {
		if err := s.fire(ctx, sc.OrderID); err != nil {
			s.log.Warn("sweep: could not fire", "order", sc.OrderID, "err", err)
			continue
		}
		n++
		s.log.Warn("sweep fired an overdue expiration (its reminder was lost)", "order", sc.OrderID, "deadline", sc.ExpiresAt)
	}
	return n
}

// overdue lists the schedules still waiting whose deadline is before cutoff,
// page by page through the state query API.
func (s *scheduleStore) overdue(ctx context.Context, cutoff time.Time) ([]schedule, error) {
	var out []schedule
	token := ""
	for {
		q, _ := json.Marshal(map[string]any{
			"filter": map[string]any{"EQ": map[string]any{"status": statusScheduled}},
			"page":   map[string]any{"limit": 500, "token": token},
		})
		items, next, err := s.state.Query(ctx, string(q))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			var sc schedule
			if it.Decode(&sc) != nil || sc.Status != statusScheduled || sc.OrderID == "" {
				continue
			}
			if sc.ExpiresAt.Before(cutoff) {
				out = append(out, sc)
			}
		}
		if next == "" || len(items) == 0 {
			return out, nil
		}
		token = next
	}
}
