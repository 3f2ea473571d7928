package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// decodeStrict reads a JSON body into dst (a pointer to a struct). Unknown
// fields and wrong types are reported as *badRequest naming the field by its
// document path ("users[0].passwrd"); a body over maxBody yields
// *http.MaxBytesError.
func decodeStrict(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var large *http.MaxBytesError
		if errors.As(err, &large) {
			return err
		}
		return &badRequest{Message: "cannot read request body"}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return &badRequest{Message: "request body is empty: a JSON document is required"}
	}
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return &badRequest{Message: "request body is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if err := checkShape(raw, reflect.TypeOf(dst).Elem(), ""); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		// checkShape should have caught it; keep the decoder's words.
		return &badRequest{Message: strings.TrimPrefix(err.Error(), "json: ")}
	}
	return nil
}

// checkShape walks a generic JSON value against the Go type it will be
// decoded into and returns the first unknown field or type mismatch, in a
// stable (sorted key) order. Field matching is case-insensitive, as in
// encoding/json. null is accepted anywhere.
func checkShape(v any, t reflect.Type, path string) error {
	if v == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	name := path
	if name == "" {
		name = "body"
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			if path == "" {
				return &badRequest{Message: "request body must be a JSON object"}
			}
			return &badRequest{Field: path, Message: "must be an object"}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			child := k
			if path != "" {
				child = path + "." + k
			}
			f, ok := jsonField(t, k)
			if !ok {
				return &badRequest{Field: child, Message: "unknown field"}
			}
			if err := checkShape(obj[k], f.Type, child); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return &badRequest{Field: path, Message: "must be an array"}
		}
		for i, e := range arr {
			if err := checkShape(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return &badRequest{Field: name, Message: "must be a string"}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return &badRequest{Field: name, Message: "must be true or false"}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if _, ok := v.(float64); !ok {
			return &badRequest{Field: name, Message: "must be a number"}
		}
	}
	return nil
}

// jsonField finds the exported field of struct t that encoding/json would
// decode the key into (exact name first, then case-insensitive).
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			fold, found = f, true
		}
	}
	return fold, found
}
