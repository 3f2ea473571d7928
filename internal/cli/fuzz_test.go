package cli

import (
	"strings"
	"testing"
)

// FuzzLoadDocuments checks that no input makes the loader panic, and that
// every failure is reported as lines naming the file.
func FuzzLoadDocuments(f *testing.F) {
	f.Add(twoTenants)
	f.Add("tenant: a\nbogus: 1\n---\n---\ntenant: b\nusers: [x]\n")
	f.Add("%YAML 1.2\n---\ntenant: &t a\ndomains: [*t]\n...\n")
	f.Add("users:\n  - <<: {sipAddress: a@b.c}\n    extension: !!int 12\n")
	f.Add("tenant: |\n  multi\n  line\n")
	f.Fuzz(func(t *testing.T, src string) {
		docs, err := LoadDocuments("f.yaml", []byte(src))
		if err == nil {
			if len(docs) == 0 {
				t.Fatal("no documents and no error")
			}
			return
		}
		de, ok := err.(*DocError)
		if !ok || len(de.Lines) == 0 {
			t.Fatalf("error %T %v", err, err)
		}
		for _, l := range de.Lines {
			if !strings.HasPrefix(l, "f.yaml") {
				t.Fatalf("line %q does not name the file", l)
			}
		}
	})
}
