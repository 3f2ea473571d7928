package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestReferenceListsEveryKey: docs/config.md names every top-level key of
// the server config file, so a new setting cannot ship undocumented.
func TestReferenceListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		if !strings.Contains(string(doc), "| `"+key+"` |") {
			t.Errorf("docs/config.md has no table row for the key %q (field %s)", key, typ.Field(i).Name)
		}
	}
}
