package planner

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	no := false
	tests := []struct {
		name  string
		a     Answers
		field string // "" when valid
		msg   string
	}{
		{"minimal", Answers{Country: "US"}, "", ""},
		{"lower case", Answers{Country: " de ", UsersHomed: "Cloud"}, "", ""},
		{"country left to callingPlanAvailable", Answers{CallingPlanAvailable: &no}, "", ""},
		{"cloud users, nothing to move", Answers{Country: "US", UsersHomed: HomedCloud, MoveUsersToCloud: true}, "", ""},
		{"no country", Answers{}, "country", "required"},
		{"unknown country", Answers{Country: "XX"}, "country", `"XX" is not an ISO 3166-1 alpha-2 country code`},
		{"alpha-3", Answers{Country: "USA"}, "country", "not an ISO 3166-1 alpha-2"},
		{"UK", Answers{Country: "uk"}, "country", "the United Kingdom is GB"},
		{"bad homing", Answers{Country: "US", UsersHomed: "hybrid", ExistingOnPremServer: true}, "usersHomed", "not one of onprem, cloud, both"},
		{"onprem without server", Answers{Country: "US", UsersHomed: HomedOnPrem}, "usersHomed", "existingOnPremServer is false"},
		{"both without server", Answers{Country: "US", UsersHomed: HomedBoth, MoveUsersToCloud: true}, "usersHomed", "existingOnPremServer is false"},
		{"unique features, no PBX", Answers{Country: "US", PbxUniqueFeatures: true}, "pbxUniqueFeatures", "existingPbx is false"},
		{"mix without Calling Plan", Answers{Country: "BR", CallingPlanAvailable: &no, MixCarrierAndCallingPlan: true}, "mixCarrierAndCallingPlan", "not available in BR"},
		{"mix with everyone on-prem", Answers{Country: "US", ExistingOnPremServer: true, UsersHomed: HomedOnPrem, MixCarrierAndCallingPlan: true}, "mixCarrierAndCallingPlan", "needs users in the cloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.a)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve ValidationErrors
			if !errors.As(err, &ve) || len(ve) != 1 {
				t.Fatalf("Validate = %v, want one problem on %s", err, tt.field)
			}
			if ve[0].Field != tt.field || !strings.Contains(ve[0].Message, tt.msg) {
				t.Errorf("got %q, want %s: ...%s...", ve[0].Error(), tt.field, tt.msg)
			}
		})
	}
}

// TestPlanResolvesBeforeValidating: a country the operator does not sell
// the Calling Plan in makes mixed routing a contradiction.
func TestPlanResolvesBeforeValidating(t *testing.T) {
	_, err := Plan(Answers{Country: "BR", MixCarrierAndCallingPlan: true}, testOperator)
	if err == nil || !strings.Contains(err.Error(), "mixCarrierAndCallingPlan") {
		t.Fatalf("Plan = %v, want a contradiction on mixCarrierAndCallingPlan", err)
	}
}

func TestCountries(t *testing.T) {
	codes := strings.Fields(iso3166)
	if len(codes) != 249 {
		t.Errorf("%d ISO 3166-1 codes, want 249", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 2 || strings.ToUpper(c) != c || seen[c] {
			t.Errorf("bad or repeated code %q", c)
		}
		seen[c] = true
	}
	for _, c := range DefaultCallingPlanCountries() {
		if !IsCountry(c) {
			t.Errorf("default Calling Plan country %q is not a country", c)
		}
	}
	for _, c := range []string{"", "U", "us", "UK", "EU", "XK", "USA"} {
		if IsCountry(c) {
			t.Errorf("IsCountry(%q) = true", c)
		}
	}
}

func TestOperator(t *testing.T) {
	op := Operator{CallingPlanCountries: []string{" us", "Ca"}}
	for c, want := range map[string]bool{"US": true, "ca": true, "BR": false, "": false} {
		if got := op.SellsCallingPlan(c); got != want {
			t.Errorf("SellsCallingPlan(%q) = %v", c, got)
		}
	}
}

// TestImports keeps planner a domain package: the standard library only
// (ARCHITECTURE.md, dependency rule).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
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
			if strings.Contains(first, ".") && path != "github.com/switchboard-pbx/switchboard/internal/pbx" {
				t.Errorf("%s imports %s, which a domain package must not", name, path)
			}
		}
	}
}
