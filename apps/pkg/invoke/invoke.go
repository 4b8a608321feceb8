// Package invoke is how a service asks another for what it owns, through its
// own sidecar (Dapr service invocation): the internal API of each service,
// its request and answer types, and one client. A service that lacks the
// current state of something another owns asks the owner instead of waiting
// for an event (read-through); the owner decides.
//
// The routes live under /internal/ on each app, where only a sidecar calls
// them: the public origin routes /api/ only, and every internal handler
// checks the dapr-caller-app-id header its sidecar sets.
package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
	"github.com/tixmesh/ticketing/apps/pkg/tracing"
)

// Client calls other apps' internal APIs through the caller's sidecar.
type Client struct {
	base    string // http://127.0.0.1:<sidecar http port>/v1.0/invoke/
	http    *http.Client
	timeout time.Duration
}

// New returns a client of the sidecar at httpAddr (host:port); each call
// gives up after timeout.
func New(httpAddr string, timeout time.Duration) *Client {
	return &Client{
		base: "http://" + httpAddr + "/v1.0/invoke/",
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}},
		timeout: timeout,
	}
}

// ErrUnreachable is a call whose answer did not come: the owner (or a
// sidecar on the way) is down or slow. Whether the call had an effect is
// unknown; the caller degrades (its own copy, a retry later) or answers 503.
var ErrUnreachable = apperr.New(apperr.Unavailable, "A service is unavailable; try again shortly")

// call POSTs in as JSON to app's path and decodes a 2xx answer into out. A
// 4xx answer comes back as an apperr of the same kind with the owner's own
// message (a payment for a cancelled order is refused in orders' words).
func (c *Client) call(ctx context.Context, app, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+url.PathEscape(app)+"/method"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if tp := tracing.Parent(ctx); tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrUnreachable, app, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrUnreachable, app, path, err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil || len(b) == 0 {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s answered %s: %w", app, path, b, err)
		}
		return nil
	}
	return answerError(app, path, resp.StatusCode, b)
}

// answerError turns an owner's error answer into the same kind of error.
func answerError(app, path string, status int, body []byte) error {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		msg = e.Errors[0].Message
	}
	var code apperr.Code
	switch status {
	case http.StatusBadRequest:
		code = apperr.Rule
	case http.StatusUnauthorized, http.StatusForbidden:
		code = apperr.Unauthorized
	case http.StatusNotFound:
		code = apperr.NotFound
	case http.StatusConflict:
		code = apperr.Conflict
	default:
		return fmt.Errorf("%w: %s %s answered %d: %s", ErrUnreachable, app, path, status, body)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Refusal{Err: fmt.Errorf("%s %s: %w", app, path, &apperr.Error{Code: code, Message: msg}), Body: body}
}

// Refusal is an owner's 4xx answer: an apperr of the answer's kind, with
// the owner's message, and the body, for answers that say more.
type Refusal struct {
	Err  error
	Body []byte
}

func (r *Refusal) Error() string { return r.Err.Error() }
func (r *Refusal) Unwrap() error { return r.Err }

// CallerHeader is the header a sidecar sets on an invocation: the calling
// app's id.
const CallerHeader = "dapr-caller-app-id"

var errNotACaller = apperr.New(apperr.NotFound, "Not Found")

// OnlyFrom guards an internal route: a request that did not come through a
// sidecar from one of apps is answered 404, as if the route did not exist.
func OnlyFrom(apps ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			caller := r.Header.Get(CallerHeader)
			for _, a := range apps {
				if caller == a {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeNotFound(w)
		})
	}
}

func writeNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(`{"errors":[{"message":"Not Found"}]}` + "\n"))
}

// IsUnreachable reports whether err is a call that got no answer.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }
