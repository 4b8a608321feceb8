package sidecar

import (
	"context"
	"errors"
	"time"
)

// Await calls get until it returns something other than notFound, or wait
// has passed (then notFound stands). A service that learns of another's
// aggregate through events can be a few milliseconds behind a user who acts
// on it at once (orders a ticket just listed, pays an order just placed):
// waiting briefly answers that user instead of a 404. Retries back off from
// 5 ms to 200 ms.
func Await[T any](ctx context.Context, wait time.Duration, notFound error, get func() (T, string, error)) (T, string, error) {
	deadline := time.Now().Add(wait)
	delay := 5 * time.Millisecond
	for {
		v, etag, err := get()
		if !errors.Is(err, notFound) || !time.Now().Add(delay).Before(deadline) {
			return v, etag, err
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, "", ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}
