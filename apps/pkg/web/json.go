package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/tixmesh/ticketing/apps/pkg/apperr"
)

// MaxBodyBytes bounds every JSON request body.
const MaxBodyBytes = 1 << 20

// Validator is implemented by request types: it returns one user-readable
// message per invalid field, or nothing.
type Validator interface {
	Validate() map[string]string
}

var (
	errBadJSON  = apperr.New(apperr.Invalid, "Request body must be a JSON object")
	errTooLarge = apperr.New(apperr.Invalid, "Request body is too large")
)

// Decode reads a JSON object from the request body into a T.
func Decode[T any](r *http.Request) (T, error) {
	var v T
	body := http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	if err := dec.Decode(&v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return v, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return v, errBadJSON
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field := typeErr.Field
			if i := strings.LastIndex(field, "."); i >= 0 {
				field = field[i+1:]
			}
			return v, apperr.Fields(map[string]string{field: "has the wrong type"})
		}
		return v, errBadJSON
	}
	if dec.More() {
		return v, errBadJSON
	}
	return v, nil
}

// DecodeValid decodes a T and validates it; invalid input is an apperr.Invalid
// error that lists every problem. A Text field that holds what no field may
// (see input.go) is refused whatever T's own rules say.
func DecodeValid[T Validator](r *http.Request) (T, error) {
	v, err := Decode[T](r)
	if err != nil {
		return v, err
	}
	p := v.Validate()
	for _, name := range hostileFields(v) {
		if p == nil {
			p = map[string]string{}
		}
		p[name] = label(name) + fmt.Sprintf(" must be plain text of at most %d characters", maxTextRunes)
	}
	return v, apperr.Fields(p)
}

var textType = reflect.TypeFor[Text]()

// hostileFields names the Text fields of v (a struct) that hold what no field
// may, by their JSON names.
func hostileFields(v any) []string {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if f.Type != textType || !rv.Field(i).Interface().(Text).hostile {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// label is a field's name as the original's messages spell it: "ticketId"
// is "TicketId".
func label(field string) string {
	if field == "" {
		return field
	}
	return strings.ToUpper(field[:1]) + field[1:]
}

// JSON writes v as a JSON response with the given status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}
