package sidecar

import (
	"context"
	"errors"
	"testing"
	"time"
)

var errMissing = errors.New("missing")

func TestAwaitReturnsOnceFound(t *testing.T) {
	calls := 0
	v, etag, err := Await(context.Background(), time.Second, errMissing, func() (string, string, error) {
		if calls++; calls < 3 {
			return "", "", errMissing
		}
		return "it", "1", nil
	})
	if err != nil || v != "it" || etag != "1" || calls != 3 {
		t.Fatalf("got %q %q %v after %d calls", v, etag, err, calls)
	}
}

func TestAwaitGivesUpAfterTheWait(t *testing.T) {
	start := time.Now()
	_, _, err := Await(context.Background(), 50*time.Millisecond, errMissing, func() (int, string, error) { return 0, "", errMissing })
	if !errors.Is(err, errMissing) {
		t.Fatalf("err %v, want errMissing", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("gave up after %s, want about 50ms", took)
	}
}

func TestAwaitPassesOtherErrorsAtOnce(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, _, err := Await(context.Background(), time.Second, errMissing, func() (int, string, error) { calls++; return 0, "", boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err %v after %d calls, want boom after 1", err, calls)
	}
}

func TestAwaitStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := Await(ctx, time.Minute, errMissing, func() (int, string, error) { return 0, "", errMissing })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
