package yamldoc

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

type user struct {
	SIPAddress string `yaml:"sipAddress"`
	Extension  string `yaml:"extension,omitempty"`
	LineURI    string `yaml:"lineUri,omitempty"`
}

type settings struct {
	Port    int           `yaml:"port"`
	Small   int8          `yaml:"small"`
	Enabled bool          `yaml:"enabled"`
	Ratio   float64       `yaml:"ratio"`
	Timeout time.Duration `yaml:"timeout"`
	Tags    map[string]string
}

type doc struct {
	Tenant   string   `yaml:"tenant"`
	Domains  []string `yaml:"domains"`
	Users    []user   `yaml:"users"`
	Settings *settings
	Ignored  string `yaml:"-"`
}

func decodeAll(t *testing.T, src string) ([]doc, []string) {
	t.Helper()
	docs, perr := Parse([]byte(src))
	if perr != nil {
		return nil, []string{perr.Format("f.yaml")}
	}
	var out []doc
	var problems []string
	for _, d := range docs {
		var v doc
		for _, p := range d.Decode(&v) {
			problems = append(problems, p.Format("f.yaml"))
		}
		out = append(out, v)
	}
	return out, problems
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		want     []doc
		problems []string
	}{
		{
			name: "valid with scalars kept as written",
			src: "tenant: contoso\ndomains: [contoso.com]\nusers:\n" +
				"  - sipAddress: alice@contoso.com\n    extension: 0100\n    lineUri: +14255550100\n" +
				"settings:\n  port: 5061\n  enabled: true\n  ratio: 1\n  tags: {a: 1}\n",
			want: []doc{{
				Tenant: "contoso", Domains: []string{"contoso.com"},
				Users:    []user{{SIPAddress: "alice@contoso.com", Extension: "0100", LineURI: "+14255550100"}},
				Settings: &settings{Port: 5061, Enabled: true, Ratio: 1, Tags: map[string]string{"a": "1"}},
			}},
		},
		{
			name: "several documents, empty ones skipped",
			src:  "---\ntenant: a\n---\n# nothing\n---\ntenant: b\n---\n---\ntenant: c\n...\n%YAML 1.2\n---\ntenant: d\n",
			want: []doc{{Tenant: "a"}, {Tenant: "b"}, {Tenant: "c"}, {Tenant: "d"}},
		},
		{
			name: "every problem with its line",
			src: "tenant: [x]\n" +
				"domains: contoso.com\n" +
				"users:\n" +
				"  - sipAddress: a@b\n" +
				"    bogus: 1\n" +
				"  - sipaddress: c@d\n" +
				"settings:\n  port: many\n  enabled: maybe\n  ratio: x\n" +
				"Ignored: y\n",
			problems: []string{
				"f.yaml:1: tenant: expected a string",
				"f.yaml:2: domains: expected a list",
				"f.yaml:5: users[0].bogus: unknown field",
				`f.yaml:6: users[1].sipaddress: unknown field (did you mean "sipAddress"?)`,
				"f.yaml:8: settings.port: expected an integer",
				"f.yaml:9: settings.enabled: expected true or false",
				"f.yaml:10: settings.ratio: expected a number",
				"f.yaml:11: Ignored: unknown field",
			},
		},
		{
			name:     "not a mapping",
			src:      "- a\n- b\n",
			problems: []string{"f.yaml:1: expected a mapping"},
		},
		{
			name:     "number overflow left to the library",
			src:      "settings:\n  small: 300\n",
			problems: []string{"f.yaml:2: settings.small: number out of range"},
		},
		{
			name:     "custom unmarshaler decides",
			src:      "settings:\n  timeout: soon\n",
			problems: []string{"f.yaml:2: settings.timeout: "},
		},
		{
			name:     "syntax error",
			src:      "tenant: a\nusers: [\n",
			problems: []string{"f.yaml:2: "},
		},
		{
			name:     "duplicate key",
			src:      "tenant: a\ntenant: b\n",
			problems: []string{"f.yaml:2: "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := decodeAll(t, tt.src)
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems = %q, want %q", problems, tt.problems)
			}
			for i := range problems {
				if !strings.HasPrefix(problems[i], tt.problems[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, problems[i], tt.problems[i])
				}
			}
			if tt.problems == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLineOf(t *testing.T) {
	src := "tenant: contoso\n" + // 1
		"users:\n" + // 2
		"  - sipAddress: a@contoso.com\n" + // 3
		"  - sipAddress: b@contoso.com\n" + // 4
		"    extension: \"100\"\n" + // 5
		"domains:\n" + // 6
		"  - contoso.com\n" // 7
	docs, perr := Parse([]byte(src))
	if perr != nil {
		t.Fatal(perr)
	}
	var v doc
	if p := docs[0].Decode(&v); p != nil {
		t.Fatal(p)
	}
	for path, want := range map[string]int{
		"tenant":              1,
		"users":               2,
		"users[1]":            4,
		"users[1].extension":  5,
		"users[0].extension":  3, // absent: its user
		"users[7].sipAddress": 2, // absent: the list
		"domains[0]":          7,
		"settings.port":       1, // absent altogether: the document
		"":                    1,
	} {
		if got := docs[0].LineOf(path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestProblemFormat(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 3, Path: "a.b", Message: "bad"}, "f:3: a.b: bad"},
		{Problem{Line: 3, Message: "bad"}, "f:3: bad"},
		{Problem{Message: "bad"}, "f: bad"},
	} {
		if got := tt.p.Format("f"); got != tt.want {
			t.Errorf("Format = %q, want %q", got, tt.want)
		}
	}
}

func TestDecodeNeedsPointer(t *testing.T) {
	docs, _ := Parse([]byte("tenant: a\n"))
	if p := docs[0].Decode(doc{}); len(p) != 1 {
		t.Fatalf("Decode(non-pointer) = %v, want one problem", p)
	}
}
