package web

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request fields take JSON as the original system's validators did: they read
// every value as text first, so a number may come as a numeric string
// ("20.00" is 20) and a text field may come as a number. Text and Number never
// fail to decode: a value of the wrong kind is noted, and the field's own rule
// refuses it with the field's own message (the original's), as it would an
// empty one. What no field may hold at all (NUL and other control characters,
// bytes that are not UTF-8, more than maxTextRunes) is refused by
// DecodeValid for every field alike.

// maxTextRunes bounds any text field; fields have tighter rules of their own.
const maxTextRunes = 1000

// Text is a text field: a JSON string, or a number as its text; null or
// absent is empty.
type Text struct {
	s string
	// hostile: not plain text, or too long (see DecodeValid); wrongKind: an
	// object, an array or a boolean (empty to the field's rule).
	hostile, wrongKind bool
}

// NewText is a Text holding s (tests, and code that builds requests).
func NewText(s string) Text { return Text{s: s, hostile: !PlainText(s)} }

func (t *Text) UnmarshalJSON(b []byte) error {
	*t = Text{}
	switch b = bytes.TrimSpace(b); {
	case len(b) == 0 || string(b) == "null":
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) != nil {
			t.hostile = true
			return nil
		}
		t.s = s
		// json decodes bytes that are not UTF-8 as U+FFFD: look at the raw bytes.
		t.hostile = !utf8.Valid(b) || !PlainText(s) || utf8.RuneCountInString(s) > maxTextRunes
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		t.s = string(b)
	default:
		t.wrongKind = true
	}
	return nil
}

func (t Text) MarshalJSON() ([]byte, error) { return json.Marshal(t.s) }

// String is the text as given (empty for a value of the wrong kind).
func (t Text) String() string { return t.s }

// Trimmed is the text without leading and trailing white space.
func (t Text) Trimmed() string { return strings.TrimSpace(t.s) }

// Number is a numeric field: a JSON number, or a string that reads as one
// the way the original's isFloat did (an optional sign, digits, an optional
// fraction and exponent; no spaces). Anything else, and a number too large
// for a float64, is not Valid; null or absent is not Valid either.
type Number struct {
	v     float64
	valid bool
}

// NewNumber is a valid Number holding v.
func NewNumber(v float64) Number { return Number{v: v, valid: !math.IsNaN(v) && !math.IsInf(v, 0)} }

// numeric is validator.js's isFloat, which the original's price rule used.
var numeric = regexp.MustCompile(`^[-+]?[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?$`)

func (n *Number) UnmarshalJSON(b []byte) error {
	*n = Number{}
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if json.Unmarshal(b, &s) != nil || len(s) > 64 || !numeric.MatchString(s) || strings.Trim(s, "+-.") == "" {
			return nil
		}
	} else if len(s) == 0 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		n.v, n.valid = v, true
	}
	return nil
}

func (n Number) MarshalJSON() ([]byte, error) {
	if !n.valid {
		return []byte("null"), nil
	}
	return json.Marshal(n.v)
}

// Value is the number (0 unless Valid).
func (n Number) Value() float64 { return n.v }

// Valid reports whether the field held a finite number.
func (n Number) Valid() bool { return n.valid }
