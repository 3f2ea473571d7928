package provision

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps provision a domain package: standard library, the shared
// kernel, auth and libphonenumber only.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/switchboard-pbx/switchboard/internal/pbx":  true,
		"github.com/switchboard-pbx/switchboard/internal/auth": true,
		"github.com/nyaruka/phonenumbers":                      true,
		"github.com/dlclark/regexp2/v2":                        true,
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if !strings.Contains(first, ".") || allowed[path] {
				continue
			}
			t.Errorf("%s imports %s, which a domain package must not", name, path)
		}
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("contoso", "contoso.com", "alice@contoso.com", "Alice", "alice-secret", "1001", "tel:+14255550100;ext=1")
	f.Add("-x", "contoso com", "sip:bob", "\x00", "", "1", "+1425")
	f.Add("", "", "@", "", "short", "10a", "+99912345678;ext=")
	f.Add(" x ", "A.b", "sip:sip: Bob@A.B", " ", "        ", " 12", "TEL:+14255550100")
	f.Fuzz(func(t *testing.T, tenant, domain, addr, display, password, ext, line string) {
		d := Document{Tenant: tenant, Domains: []string{domain},
			Users: []UserSpec{{SIPAddress: addr, DisplayName: display, Password: password, Extension: ext, LineURI: line}}}
		errs := Validate(d)
		for _, e := range errs {
			if e.Field == "" || e.Message == "" {
				t.Errorf("empty field or message in %v", errs)
			}
		}
		c := Canonical(d)
		if !reflect.DeepEqual(Canonical(c), c) {
			t.Errorf("Canonical is not idempotent: %+v -> %+v", c, Canonical(c))
		}
		if !reflect.DeepEqual(Validate(c), errs) {
			t.Errorf("Validate(Canonical(d)) differs from Validate(d)")
		}
	})
}
