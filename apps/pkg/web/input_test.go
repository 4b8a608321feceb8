package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNumbersComeAsTheOriginalTookThem(t *testing.T) {
	cases := []struct {
		json  string
		valid bool
		want  float64
	}{
		{`20`, true, 20},
		{`20.5`, true, 20.5},
		{`"20.00"`, true, 20},
		{`"19.99"`, true, 19.99},
		{`"-3"`, true, -3},
		{`".5"`, true, 0.5},
		{`"1e2"`, true, 100},
		{`"abc"`, false, 0},
		{`""`, false, 0},
		{`"."`, false, 0},
		{`"+"`, false, 0},
		{`" 20"`, false, 0}, // isFloat does not trim
		{`"20 "`, false, 0},
		{`"0x10"`, false, 0},
		{`"NaN"`, false, 0},
		{`"Infinity"`, false, 0},
		{`"1e400"`, false, 0},
		{`1e400`, false, 0},
		{`true`, false, 0},
		{`null`, false, 0},
		{`[20]`, false, 0},
		{`{"v":20}`, false, 0},
	}
	for _, c := range cases {
		var n Number
		if err := json.Unmarshal([]byte(c.json), &n); err != nil {
			t.Errorf("%s: %v (a Number never fails to decode)", c.json, err)
			continue
		}
		if n.Valid() != c.valid || n.Value() != c.want {
			t.Errorf("%s: valid %v, value %v; want %v, %v", c.json, n.Valid(), n.Value(), c.valid, c.want)
		}
	}
}

func TestTextTakesStringsAndNumbers(t *testing.T) {
	cases := []struct {
		json          string
		want          string
		hostile, kind bool
	}{
		{`"Concert"`, "Concert", false, false},
		{`"Konzert \u00fcber"`, "Konzert über", false, false},
		{`1984`, "1984", false, false},
		{`-1.5`, "-1.5", false, false},
		{`null`, "", false, false},
		{`true`, "", false, true},
		{`{"$ne":""}`, "", false, true},
		{`["a"]`, "", false, true},
		{`"a\u0000b"`, "a\x00b", true, false},
		{`"a\u0007b"`, "a\ab", true, false},
		{`"line\nbreak"`, "line\nbreak", true, false},
		{"\"a\xffb\"", "a\ufffdb", true, false},
		{`"` + strings.Repeat("x", maxTextRunes+1) + `"`, strings.Repeat("x", maxTextRunes+1), true, false},
	}
	for _, c := range cases {
		var tx Text
		if err := json.Unmarshal([]byte(c.json), &tx); err != nil && c.json != "\"a\xffb\"" {
			t.Errorf("%q: %v (a Text never fails to decode)", c.json, err)
			continue
		}
		if tx.String() != c.want || tx.hostile != c.hostile || tx.wrongKind != c.kind {
			t.Errorf("%q: %q hostile %v wrong kind %v; want %q, %v, %v", c.json, tx.String(), tx.hostile, tx.wrongKind, c.want, c.hostile, c.kind)
		}
	}
	if !math.IsNaN(math.NaN()) || NewNumber(math.NaN()).Valid() {
		t.Error("NewNumber(NaN) is valid")
	}
}

// hostileRequest has a text field and a numeric one.
type hostileRequest struct {
	Title Text   `json:"title"`
	Price Number `json:"price"`
}

func (hostileRequest) Validate() map[string]string { return nil }

func TestDecodeValidRefusesWhatNoFieldMayHold(t *testing.T) {
	for _, body := range []string{
		`{"title":"a\u0000b","price":1}`,
		`{"title":"tab\tin it","price":1}`,
		"{\"title\":\"\xfe\xff\",\"price\":1}",
		`{"title":"` + strings.Repeat("é", maxTextRunes+1) + `","price":1}`,
	} {
		_, err := DecodeValid[hostileRequest](httptest.NewRequest("POST", "/", strings.NewReader(body)))
		if StatusOf(err) != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, StatusOf(err))
			continue
		}
		if b := Body(err); len(b.Errors) != 1 || b.Errors[0].Field != "title" || !strings.HasPrefix(b.Errors[0].Message, "Title must be plain text") {
			t.Errorf("%q: errors %+v, want one on title", body, b.Errors)
		}
	}
}

func TestTheEdgeRefusesHostileURLs(t *testing.T) {
	r := NewRouter(quietLog())
	reached := false
	r.HandleFunc("/api/tickets/{id}", func(w http.ResponseWriter, _ *http.Request) { reached = true })
	r.HandleFunc("/api/tickets", func(w http.ResponseWriter, _ *http.Request) { reached = true })
	cases := []struct {
		target string
		status int
	}{
		{"/api/tickets/abc", 200},
		{"/api/tickets?limit=10&page=20", 200},
		{"/api/tickets/%00", 404},
		{"/api/tickets/%FF%FE", 404},
		{"/api/tickets/a%0Ab", 404},
		{"/api/tickets/a%7Fb", 404},
		{"/api/tickets/" + strings.Repeat("x", maxPathSegment+1), 404},
		{"/api/tickets?page=%00", 400},
		{"/api/tickets?page=%FF", 400},
		{"/api/tickets?page=" + strings.Repeat("x", maxQueryValue+1), 400},
		{"/api/tickets?page=%zz", 400},
		{"/api/tickets?%00=1", 400},
	}
	for _, c := range cases {
		reached = false
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", c.target, nil))
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.target, w.Code, c.status)
		}
		if c.status != 200 {
			if reached {
				t.Errorf("%s reached its handler", c.target)
			}
			var b ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || len(b.Errors) == 0 {
				t.Errorf("%s: body %s, want the error shape", c.target, w.Body)
			}
		}
	}
}
