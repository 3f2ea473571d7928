package routing

import (
	"strings"
	"testing"
)

func TestCompilePattern(t *testing.T) {
	tests := []struct {
		expr    string
		engine  string
		wantErr string
	}{
		{`^(\d{4})$`, EngineRE2, ""},
		{`^\+1425\d{7}$`, EngineRE2, ""},
		{`^\+1(?!(900|976))\d{10}$`, EngineDotNet, ""}, // lookahead
		{`(?<=\+44)\d+`, EngineDotNet, ""},             // lookbehind
		{`^(?<area>\d{3})(\d{7})$`, EngineDotNet, ""},  // .NET numbers named groups last
		{`^[0-9-[5]]+$`, EngineDotNet, ""},             // class subtraction
		{`\A\d+\Z`, EngineDotNet, ""},
		{`^(\d)\1$`, EngineDotNet, ""}, // backreference
		{`^\u0031$`, EngineDotNet, ""},
		{``, "", "must not be empty"},
		{`^(\d`, "", "not a valid regular expression: missing closing )"},
		{`[z-a]`, "", "range in reverse order"},
		{`*`, "", "missing argument to repetition operator"},
		{`^(?P<x>\d)$`, "", "unrecognized grouping construct"}, // not .NET syntax
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := CompilePattern(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CompilePattern(%q) error = %v, want %q", tt.expr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CompilePattern(%q): %v", tt.expr, err)
			}
			if p.Engine() != tt.engine || p.String() != tt.expr {
				t.Errorf("engine %s (%s), want %s", p.Engine(), p, tt.engine)
			}
		})
	}
}

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		expr, in string
		want     bool
	}{
		{`^\+1(?!(900|976))\d{10}$`, "+14255550100", true},
		{`^\+1(?!(900|976))\d{10}$`, "+19005550100", false},
		{`^\+1(?!(900|976))\d{10}$`, "+19765550100", false},
		{`^\+1(?!(900|976))\d{10}$`, "+1425555010", false},
		{`^[0-9-[5]]+$`, "1234", true},
		{`^[0-9-[5]]+$`, "1534", false},
		{`\+44`, "+442079460000", true}, // unanchored: contains
		{`^\d{4}$`, "12345", false},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := p.MatchString(tt.in); got != tt.want || err != nil {
			t.Errorf("%s.MatchString(%q) = %v, %v; want %v", tt.expr, tt.in, got, err, tt.want)
		}
	}
}

func TestTranslation(t *testing.T) {
	tests := []struct {
		name, pattern, translation, in string
		want                           string
		ok                             bool
		wantErr                        string
	}{
		{"group", `^(\d{4})$`, `+1425555$1`, "0100", "+14255550100", true, ""},
		{"no match", `^(\d{4})$`, `+1425555$1`, "01000", "", false, ""},
		{"whole input replaced", `^9(\d+)`, `+$1`, "9123;x", "+123", true, ""},
		{"braced", `^(\d)(\d)$`, `${1}0${2}`, "12", "102", true, ""},
		{"dollar", `^(\d+)$`, `$$$1`, "5", "$5", true, ""},
		{"whole match", `\d+`, `[$0|$&]`, "ab12cd", "[12|12]", true, ""},
		{"left right input", `\d+`, "$`|$'|$_", "ab12cd", "ab|cd|ab12cd", true, ""},
		{"last group", `^(\d)(\d)?$`, `$+`, "1", "", true, ""},
		{"unmatched group empty", `^(1)?(\d+)$`, `<$1><$2>`, "23", "<><23>", true, ""},
		{"literal dollar letter", `^(\d)$`, `$x$1$`, "7", "$x7$", true, ""},
		{"literal only", `^0$`, `+14255550100`, "0", "+14255550100", true, ""},
		{"dotnet named numbering", `^(?<area>\d{3})(\d{7})$`, `$1/$2/${area}`, "4255550100", "5550100/425/425", true, ""},
		{"dotnet lookahead", `^(?!0)(\d{5,8})$`, `+4930$1`, "1234567", "+49301234567", true, ""},
		{"ten groups", `^(1)(2)(3)(4)(5)(6)(7)(8)(9)(0)$`, `$10$1`, "1234567890", "01", true, ""},
		{"missing group", `^(\d)$`, `+$2`, "1", "", false, "refers to group $2, but the pattern has 1 group"},
		{"greedy digits", `^(\d)$`, `$12`, "1", "", false, "refers to group $12"},
		{"missing named", `^(?<a>\d)$`, `${b}`, "1", "", false, "refers to group ${b}, but the pattern has 1 group (named a)"},
		{"unterminated", `^(\d)$`, `${1`, "1", "", false, "unterminated ${"},
		{"no groups", `^0$`, `$1`, "0", "", false, "the pattern has no groups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := CompileTranslation(tt.pattern, tt.translation)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := tr.Apply(tt.in)
			if err != nil || ok != tt.ok || got != tt.want {
				t.Errorf("Apply(%q) = %q, %v, %v; want %q, %v", tt.in, got, ok, err, tt.want, tt.ok)
			}
			if tr.String() != tt.translation {
				t.Errorf("String() = %q", tr.String())
			}
		})
	}
}

// TestMatchTimeout: a catastrophic pattern on the .NET engine gives up with
// an error instead of stalling call setup.
func TestMatchTimeout(t *testing.T) {
	tr, err := CompileTranslation(`^(\d+)+(?!x)$`, `$1`)
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := tr.Apply(strings.Repeat("1", 40) + "a")
	if ok || err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Apply = %v, %v; want a timeout error", ok, err)
	}
}

func TestStripSeparators(t *testing.T) {
	for in, want := range map[string]string{
		"(425) 555-0100":      "4255550100",
		"+1.425.555.0100":     "+14255550100",
		"06.12.34.56.78":      "0612345678",
		"4255550100":          "4255550100",
		"  ":                  "",
		"*72#":                "*72#",
		"020\t7946":           "020\t7946", // only the listed separators
		"1-800-FLOWERS (x10)": "1800FLOWERSx10",
	} {
		if got := StripSeparators(in); got != want {
			t.Errorf("StripSeparators(%q) = %q, want %q", in, got, want)
		}
	}
}
