package sidecar

import (
	"errors"
	"net/http"
	"testing"
)

func TestWrapTellsALostRaceFromAStoreThatIsDown(t *testing.T) {
	conflicts := []string{
		"possible etag mismatch. error from state store: ...",
		"failed to set key orders||o1: no item was updated",
		"ERROR: duplicate key value violates unique constraint (SQLSTATE 23505)",
		"ERROR: deadlock detected (SQLSTATE 40P01)",
		"ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)",
		"(WriteConflict) Write conflict during plan execution and yielding is disabled",
	}
	for _, msg := range conflicts {
		err := wrap(&sidecarError{Status: http.StatusInternalServerError, Code: "ERR_STATE_TRANSACTION", Message: msg}, "transact")
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%q: %v, want ErrConflict", msg, err)
		}
	}
	down := []string{
		"failed to connect to `host=127.0.0.1 user=postgres database=orders`: dial tcp 127.0.0.1:40001: connect: connection refused",
		"ERROR: the database system is shutting down (SQLSTATE 57P03)",
	}
	for _, msg := range down {
		err := wrap(&sidecarError{Status: http.StatusInternalServerError, Code: "ERR_STATE_TRANSACTION", Message: msg}, "transact")
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrConflict) {
			t.Errorf("%q: %v, want ErrUnavailable", msg, err)
		}
	}
	if err := wrap(&sidecarError{Status: http.StatusConflict}, "save"); !errors.Is(err, ErrConflict) {
		t.Errorf("409: %v, want ErrConflict", err)
	}
}
