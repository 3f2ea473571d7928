package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/provision"
)

const twoTenants = `# two tenants
tenant: contoso
domains: [contoso.com]
users:
  - sipAddress: alice@contoso.com
    displayName: Alice
    password: alice-secret
    extension: 0100
    lineUri: +14255550100
  - sipAddress: bob@contoso.com
    password: bob-secret-1
---
tenant: fabrikam
domains:
  - fabrikam.com
`

func TestLoadDocumentsMulti(t *testing.T) {
	docs, err := LoadDocuments("t.yaml", []byte(twoTenants))
	if err != nil {
		t.Fatal(err)
	}
	want := []provision.Document{
		{
			Tenant: "contoso", Domains: []string{"contoso.com"},
			Users: []provision.UserSpec{
				{SIPAddress: "alice@contoso.com", DisplayName: "Alice", Password: "alice-secret", Extension: "0100", LineURI: "+14255550100"},
				{SIPAddress: "bob@contoso.com", Password: "bob-secret-1"},
			},
		},
		{Tenant: "fabrikam", Domains: []string{"fabrikam.com"}},
	}
	if !reflect.DeepEqual(docs, want) {
		t.Errorf("LoadDocuments =\n%+v\nwant\n%+v", docs, want)
	}
}

func TestLoadDocumentsErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		src  string
		want []string
	}{
		{
			name: "unknown field with line",
			file: "t.yaml",
			src:  "tenant: contoso\ndomains: [contoso.com]\nusers:\n  - sipAddress: a@contoso.com\n    extention: \"100\"\n",
			want: []string{"t.yaml:5: users[0].extention: unknown field"},
		},
		{
			name: "wrong type with line",
			file: "t.yaml",
			src:  "tenant: contoso\ndomains: contoso.com\nusers:\n  - sipAddress: [a]\n",
			want: []string{"t.yaml:2: domains: expected a list", "t.yaml:4: users[0].sipAddress: expected a string"},
		},
		{
			name: "validation path mapped to its line, in the second document",
			file: "-",
			src: "tenant: contoso\ndomains: [contoso.com]\n---\n" + // 1-3
				"tenant: fabrikam\n" + // 4
				"domains: [fabrikam.com]\n" + // 5
				"users:\n" + // 6
				"  - sipAddress: a@fabrikam.com\n" + // 7
				"  - sipAddress: \"\"\n" + // 8
				"    extension: \"9\"\n", // 9
			want: []string{
				"<stdin>:8: users[1].sipAddress: must not be empty",
				"<stdin>:9: users[1].extension: ",
			},
		},
		{
			name: "absent field falls back to its parent",
			file: "t.yaml",
			src:  "# c\n\ntenant: contoso\nvoiceRoutes:\n  - name: r\n    numberPattern: x\n    onlinePstnUsages: [u]\n",
			want: []string{"t.yaml:5: voiceRoutes[0].onlinePstnGatewayList: at least one gateway is required"},
		},
		{
			name: "errors of every document",
			file: "t.yaml",
			src:  "tenant: a\nbogus: 1\n---\ntenant: b\nbogus: 2\n",
			want: []string{"t.yaml:2: bogus: unknown field", "t.yaml:5: bogus: unknown field"},
		},
		{
			name: "same tenant twice",
			file: "t.yaml",
			src:  "tenant: contoso\ndomains: [contoso.com]\n---\ntenant: contoso\ndomains: [contoso.org]\n",
			want: []string{`t.yaml:4: tenant: tenant "contoso" is already defined at t.yaml:1`},
		},
		{
			name: "syntax error",
			file: "t.yaml",
			src:  "tenant: contoso\ndomains: [contoso.com\n",
			want: []string{"t.yaml:2: "},
		},
		{
			name: "nothing",
			file: "t.yaml",
			src:  "# nothing\n---\n",
			want: []string{"t.yaml: no tenant documents"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := LoadDocuments(tt.file, []byte(tt.src))
			var de *DocError
			if !errors.As(err, &de) {
				t.Fatalf("LoadDocuments = %+v, %v; want a *DocError", docs, err)
			}
			if docs != nil {
				t.Errorf("documents returned with an error: %+v", docs)
			}
			if len(de.Lines) != len(tt.want) {
				t.Fatalf("lines = %q, want %q", de.Lines, tt.want)
			}
			for i := range tt.want {
				if !strings.HasPrefix(de.Lines[i], tt.want[i]) {
					t.Errorf("line %d = %q, want prefix %q", i, de.Lines[i], tt.want[i])
				}
			}
			if de.Error() != strings.Join(de.Lines, "\n") {
				t.Errorf("Error() = %q", de.Error())
			}
		})
	}
}

// TestLoadMapsEveryPath checks the path -> line mapping on its own, with a
// stand-in validator reporting fields at several depths.
func TestLoadMapsEveryPath(t *testing.T) {
	src := "tenant: contoso\n" + // 1
		"domains:\n" + // 2
		"  - contoso.com\n" + // 3
		"  - bad_domain\n" + // 4
		"users:\n" + // 5
		"  - sipAddress: a@contoso.com\n" + // 6
		"    lineUri: \"+1\"\n" // 7
	check := func(provision.Document) []provision.FieldError {
		return []provision.FieldError{
			{Field: "domains[1]", Message: "bad"},
			{Field: "users[0].lineUri", Message: "bad"},
			{Field: "users[0].password", Message: "required"},
			{Field: "users[3].extension", Message: "odd"},
			{Field: "settings.x", Message: "odd"},
		}
	}
	_, err := load("t.yaml", []byte(src), check)
	var de *DocError
	if !errors.As(err, &de) {
		t.Fatalf("load = %v", err)
	}
	want := []string{
		"t.yaml:4: domains[1]: bad",
		"t.yaml:7: users[0].lineUri: bad",
		"t.yaml:6: users[0].password: required",
		"t.yaml:5: users[3].extension: odd",
		"t.yaml:1: settings.x: odd",
	}
	if !reflect.DeepEqual(de.Lines, want) {
		t.Errorf("lines =\n%s\nwant\n%s", strings.Join(de.Lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSourcePosition(t *testing.T) {
	srcs, err := Load("t.yaml", []byte(twoTenants))
	if err != nil {
		t.Fatal(err)
	}
	if got := srcs[0].Position("users[1].sipAddress"); got != "t.yaml:10" {
		t.Errorf("Position = %s, want t.yaml:10", got)
	}
	if got := srcs[1].Problem("domains[0]", "taken"); got != "t.yaml:15: domains[0]: taken" {
		t.Errorf("Problem = %s", got)
	}
}
