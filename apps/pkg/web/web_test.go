package web

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

func TestStatusAndBodyOfEachErrorKind(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"invalid fields, sorted", apperr.Fields(map[string]string{"title": "Title is required", "price": "Price must be greater than 0"}), 400,
			`{"errors":[{"message":"Price must be greater than 0","field":"price"},{"message":"Title is required","field":"title"}]}`},
		{"business rule", apperr.New(apperr.Rule, "Ticket is already reserved"), 400, `{"errors":[{"message":"Ticket is already reserved"}]}`},
		{"wrapped rule", fmt.Errorf("reserve: %w", apperr.New(apperr.Rule, "Nope")), 400, `{"errors":[{"message":"Nope"}]}`},
		{"unauthorized", apperr.New(apperr.Unauthorized, "Not authorized"), 401, `{"errors":[{"message":"Not authorized"}]}`},
		{"not found", apperr.New(apperr.NotFound, "Not Found"), 404, `{"errors":[{"message":"Not Found"}]}`},
		{"conflict", apperr.New(apperr.Conflict, "Try again"), 409, `{"errors":[{"message":"Try again"}]}`},
		{"too many", apperr.New(apperr.TooMany, "Slow down"), 429, `{"errors":[{"message":"Slow down"}]}`},
		{"unavailable", apperr.New(apperr.Unavailable, "Down"), 503, `{"errors":[{"message":"Down"}]}`},
		{"anything else hides its details", errors.New("pq: password authentication failed"), 500, `{"errors":[{"message":"Something went wrong"}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Error(rec, httptest.NewRequest("GET", "/", nil), quietLog(), tc.err)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tc.body {
				t.Errorf("body %s, want %s", got, tc.body)
			}
		})
	}
}

type titled struct {
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

func (v titled) Validate() map[string]string {
	if v.Title == "" {
		return map[string]string{"title": "Title is required"}
	}
	return nil
}

func TestDecodeValid(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		message    string
	}{
		{"valid", `{"title":"a","price":1}`, 0, ""},
		{"fails validation", `{"price":1}`, 400, "Title is required"},
		{"wrong type", `{"title":"a","price":"ten"}`, 400, "has the wrong type"},
		{"not JSON", `title=a`, 400, "Request body must be a JSON object"},
		{"empty", ``, 400, "Request body must be a JSON object"},
		{"two objects", `{"title":"a"}{"title":"b"}`, 400, "Request body must be a JSON object"},
		{"too large", `{"title":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, 400, "Request body is too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeValid[titled](httptest.NewRequest("POST", "/", strings.NewReader(tc.body)))
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if got := StatusOf(err); got != tc.status {
				t.Fatalf("status %d, want %d (%v)", got, tc.status, err)
			}
			if b := Body(err); b.Errors[0].Message != tc.message {
				t.Errorf("message %q, want %q", b.Errors[0].Message, tc.message)
			}
		})
	}
}
