package web

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// fuzzRequest has the shapes the services' request types have: strings,
// numbers, a nested object and a list, with rules to validate.
type fuzzRequest struct {
	Title  Text     `json:"title"`
	Price  Number   `json:"price"`
	Count  int64    `json:"count"`
	Tags   []string `json:"tags"`
	Ticket struct {
		ID string `json:"id"`
	} `json:"ticket"`
}

func (r fuzzRequest) Validate() map[string]string {
	p := map[string]string{}
	if r.Title.Trimmed() == "" {
		p["title"] = "Title is required"
	}
	if !r.Price.Valid() || r.Price.Value() <= 0 {
		p["price"] = "Price must be greater than 0"
	}
	return p
}

// FuzzDecodeValid: whatever the body, DecodeValid either succeeds with a
// request that validates, or fails with an Invalid error (a 400 with at least
// one message); it never panics and never yields a 5xx.
func FuzzDecodeValid(f *testing.F) {
	for _, seed := range []string{
		`{"title":"Concert","price":20,"count":1,"tags":["a"],"ticket":{"id":"t1"}}`,
		`{"title":"Concert","price":20`,
		`{"title":42,"price":"20"}`,
		`{"ticket":{"id":7}}`,
		`{"price":1e400}`,
		`{"count":9223372036854775808}`,
		`{"title":"Konzert \u00fcber alles \ud83c\udfb5","price":0.01}`,
		`{"title":"x","price":1}{"title":"y","price":2}`,
		`[]`,
		`null`,
		``,
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		v, err := DecodeValid[fuzzRequest](r)
		if err == nil {
			if p := v.Validate(); len(p) > 0 {
				t.Fatalf("accepted %q, which does not validate: %v", body, p)
			}
			return
		}
		if status := StatusOf(err); status != http.StatusBadRequest {
			t.Fatalf("body %q: error %v maps to %d, want 400", body, err, status)
		}
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.Invalid {
			t.Fatalf("body %q: error %v is not an Invalid apperr", body, err)
		}
		if b := Body(err); len(b.Errors) == 0 || b.Errors[0].Message == "" {
			t.Fatalf("body %q: error body %+v says nothing", body, b)
		}
	})
}
