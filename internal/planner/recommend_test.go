package planner

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testOperator sells the Calling Plan in US, not in BR.
var testOperator = Operator{CallingPlanCountries: []string{"US", "CA", "GB"}}

// allAnswers enumerates every combination of answers: every boolean, every
// usersHomed value, the countries US (Calling Plan) and BR (none), and
// callingPlanAvailable unset, true and false.
func allAnswers() []Answers {
	bools := []bool{false, true}
	t, f := true, false
	var out []Answers
	for _, srv := range bools {
		for _, homed := range Homings() {
			for _, move := range bools {
				for _, country := range []string{"US", "BR"} {
					for _, cpa := range []*bool{nil, &t, &f} {
						for _, carrier := range bools {
							for _, mix := range bools {
								for _, pbx := range bools {
									for _, unique := range bools {
										for _, feat := range bools {
											for _, surv := range bools {
												out = append(out, Answers{
													ExistingOnPremServer: srv, UsersHomed: homed, MoveUsersToCloud: move,
													Country: country, CallingPlanAvailable: cpa, KeepCarrier: carrier,
													MixCarrierAndCallingPlan: mix, ExistingPbx: pbx, PbxUniqueFeatures: unique,
													NeedFeaturesCloudLacks: feat, NeedLocalSurvivability: surv,
												})
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

func yn(b bool) string {
	if b {
		return "y"
	}
	return "n"
}

func goldenLine(a Answers) string {
	cpa := "-"
	if a.CallingPlanAvailable != nil {
		cpa = yn(*a.CallingPlanAvailable)
	}
	cols := fmt.Sprintf("%-3s %-6s %-4s %-2s %-3s %-7s %-3s %-3s %-4s %-4s %-4s",
		yn(a.ExistingOnPremServer), a.UsersHomed, yn(a.MoveUsersToCloud), a.Country, cpa,
		yn(a.KeepCarrier), yn(a.MixCarrierAndCallingPlan), yn(a.ExistingPbx), yn(a.PbxUniqueFeatures),
		yn(a.NeedFeaturesCloudLacks), yn(a.NeedLocalSurvivability))
	rec, err := Plan(a, testOperator)
	if err != nil {
		var ve ValidationErrors
		if !errors.As(err, &ve) {
			return cols + " -> error: " + err.Error()
		}
		fields := make([]string, len(ve))
		for i, fe := range ve {
			fields[i] = fe.Field
		}
		return cols + " -> invalid (contradicts): " + strings.Join(fields, ", ")
	}
	ids := make([]string, len(rec.Recommended))
	for i, id := range rec.Recommended {
		ids[i] = string(id)
	}
	return fmt.Sprintf("%s -> %-16s %s", cols, rec.Best, strings.Join(ids, " "))
}

const goldenHeader = `# The decision guide over every combination of answers (go test ./internal/planner -update).
# Operator Calling Plan countries: US, CA, GB (so US has the Calling Plan, BR does not).
# y = true, n = false, - = not given (callingPlanAvailable then comes from the operator's list).
# "invalid" lists the answers Validate rejects as contradictory (messages: answers_test.go).
#
# srv     existingOnPremServer        carrier keepCarrier            uniq pbxUniqueFeatures
# homed   usersHomed                  mix     mixCarrierAndCallingPlan feat needFeaturesCloudLacks
# move    moveUsersToCloud            pbx     existingPbx            surv needLocalSurvivability
# cc/cpa  country/callingPlanAvailable
#
# srv homed  move cc cpa carrier mix pbx uniq feat surv -> best             recommended (best first)
`

func TestGolden(t *testing.T) {
	var b strings.Builder
	b.WriteString(goldenHeader)
	for _, a := range allAnswers() {
		b.WriteString(goldenLine(a) + "\n")
	}
	checkGolden(t, "plan.golden", []byte(b.String()))
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			g, w := at(gl, i), at(wl, i)
			if g != w {
				t.Fatalf("%s differs at line %d (go test -update rewrites it after review):\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end of file>"
}

// TestInvariants checks properties every recommendation must have,
// whatever the answers.
func TestInvariants(t *testing.T) {
	questions := Questions()
	for _, a := range allAnswers() {
		r, err := Plan(a, testOperator)
		if err != nil {
			continue
		}
		ra := testOperator.Resolve(a)
		name := goldenLine(a)
		if len(r.Recommended) == 0 || r.Best != r.Recommended[0] {
			t.Fatalf("%s: best %q is not recommended[0] of %v", name, r.Best, r.Recommended)
		}
		if len(r.Requirements) != len(r.Recommended) {
			t.Errorf("%s: requirements for %d topologies, %d recommended", name, len(r.Requirements), len(r.Recommended))
		}
		seen := map[ID]bool{}
		for _, id := range r.Recommended {
			if seen[id] || !slices.Contains(Topologies(), id) {
				t.Errorf("%s: bad or repeated id %q", name, id)
			}
			seen[id] = true
			if _, ok := r.Requirements[id]; !ok {
				t.Errorf("%s: no requirements for %s", name, id)
			}
		}
		if len(r.Reasons) != len(questions) {
			t.Fatalf("%s: %d reasons for %d questions", name, len(r.Reasons), len(questions))
		}
		for i, q := range questions {
			if r.Reasons[i].Question != q.Key || r.Reasons[i].Effect == "" {
				t.Errorf("%s: reason %d = %+v, want question %s with an effect", name, i, r.Reasons[i], q.Key)
			}
		}
		cp := *ra.CallingPlanAvailable
		switch {
		case !cp && seen[CallingPlan]:
			t.Errorf("%s: calling-plan recommended where it is not available", name)
		case ra.KeepCarrier && !ra.MixCarrierAndCallingPlan && seen[CallingPlan]:
			t.Errorf("%s: calling-plan recommended although the carrier is kept", name)
		case ra.NeedLocalSurvivability && r.Best != EdgeHybrid && r.Best != EnterpriseVoice:
			t.Errorf("%s: survivability needed but best is %s", name, r.Best)
		case ra.NeedLocalSurvivability && !ra.MixCarrierAndCallingPlan && seen[CallingPlan]:
			t.Errorf("%s: survivability needed but calling-plan recommended", name)
		case ra.MixCarrierAndCallingPlan && !(seen[CallingPlan] && (seen[DirectRouting] || seen[EdgeHybrid])):
			t.Errorf("%s: mixed routing needs the Calling Plan and an SBC path, got %v", name, r.Recommended)
		case r.Best == EnterpriseVoice && (ra.Homed() != HomedOnPrem || ra.MoveUsersToCloud):
			t.Errorf("%s: enterprise-voice for users in the cloud", name)
		case ra.Homed() == HomedBoth && !ra.MoveUsersToCloud && r.Best != EdgeHybrid:
			t.Errorf("%s: split domain without edge-hybrid", name)
		}
		for _, ad := range r.Advice {
			if ad.Text == "" || (ad.Topology == r.Best && ad.Question != "moveUsersToCloud") {
				t.Errorf("%s: advice %+v", name, ad)
			}
		}
	}
}

func TestScenarios(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name       string
		a          Answers
		want       []ID
		adviceTo   ID // a topology some advice must lead to, if set
		adviceWhen string
	}{
		{"all cloud, Calling Plan country", Answers{Country: "US"}, []ID{CallingPlan}, "", ""},
		{"all cloud, no Calling Plan", Answers{Country: "BR"}, []ID{DirectRouting}, CallingPlan, "callingPlanAvailable"},
		{"carrier contract", Answers{Country: "US", KeepCarrier: true}, []ID{DirectRouting}, CallingPlan, "keepCarrier"},
		{"mixed routing", Answers{Country: "us", MixCarrierAndCallingPlan: true}, []ID{CallingPlan, DirectRouting}, "", ""},
		{"explicit override", Answers{Country: "BR", CallingPlanAvailable: &yes}, []ID{CallingPlan}, "", ""},
		{"explicit no", Answers{Country: "US", CallingPlanAvailable: &no}, []ID{DirectRouting}, CallingPlan, "callingPlanAvailable"},
		{"PBX with unique features", Answers{Country: "US", ExistingPbx: true, PbxUniqueFeatures: true}, []ID{DirectRouting, CallingPlan}, CallingPlan, "pbxUniqueFeatures"},
		{"survivability", Answers{Country: "US", NeedLocalSurvivability: true}, []ID{EdgeHybrid}, CallingPlan, "needLocalSurvivability"},
		{"survivability with carrier", Answers{Country: "US", KeepCarrier: true, NeedLocalSurvivability: true}, []ID{EdgeHybrid}, DirectRouting, "needLocalSurvivability"},
		{"split domain", Answers{Country: "US", ExistingOnPremServer: true, UsersHomed: HomedBoth}, []ID{EdgeHybrid, CallingPlan}, CallingPlan, "moveUsersToCloud"},
		{"migration", Answers{Country: "US", ExistingOnPremServer: true, UsersHomed: HomedOnPrem, MoveUsersToCloud: true, KeepCarrier: true}, []ID{DirectRouting, EdgeHybrid}, CallingPlan, "keepCarrier"},
		{"stay on-prem", Answers{Country: "US", ExistingOnPremServer: true, UsersHomed: HomedOnPrem}, []ID{EnterpriseVoice}, CallingPlan, "moveUsersToCloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Plan(tt.a, testOperator)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Recommended, tt.want) {
				t.Errorf("recommended %v, want %v (%s)", r.Recommended, tt.want, r.Summary)
			}
			if tt.adviceTo != "" && !slices.ContainsFunc(r.Advice, func(ad Advice) bool {
				return ad.Topology == tt.adviceTo && ad.Question == tt.adviceWhen
			}) {
				t.Errorf("no advice to move to %s when %s changes: %+v", tt.adviceTo, tt.adviceWhen, r.Advice)
			}
		})
	}
}

func TestRecommendDoesNotKeepCallersPointer(t *testing.T) {
	v := true
	a := Answers{Country: "US", CallingPlanAvailable: &v}
	r := testOperator.Resolve(a)
	*r.CallingPlanAvailable = false
	if !v {
		t.Fatal("Resolve shares the caller's CallingPlanAvailable")
	}
}

func TestJSONContract(t *testing.T) {
	r, err := Plan(Answers{Country: "US", MixCarrierAndCallingPlan: true}, testOperator)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"best", "recommended", "reasons", "requirements", "advice"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON output has no %q: %s", k, data)
		}
	}
	want := `"calling-plan":{"needsCloudConnection":true,"availableWorldwide":"limited countries","needsSbc":false,"needsCarrierContract":false,"needsOnPremServer":false}`
	if !strings.Contains(string(m["requirements"]), want) {
		t.Errorf("requirements = %s, want it to contain %s", m["requirements"], want)
	}
	var back Answers
	in := `{"existingOnPremServer":false,"usersHomed":"cloud","moveUsersToCloud":true,"country":"US","callingPlanAvailable":true,"keepCarrier":false,"mixCarrierAndCallingPlan":false,"existingPbx":false,"pbxUniqueFeatures":false,"needFeaturesCloudLacks":false,"needLocalSurvivability":false}`
	dec := json.NewDecoder(strings.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("the answers of the issue do not decode: %v", err)
	}
}

func TestRequirementsTable(t *testing.T) {
	// PRODUCT.md §1: cloud connection / worldwide / SBC / carrier contract / on-prem server.
	want := map[ID]string{
		CallingPlan:     "yes limited countries no no no",
		DirectRouting:   "yes yes yes yes no",
		EdgeHybrid:      "yes yes yes yes yes",
		EnterpriseVoice: "no yes yes yes yes",
	}
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	for id, w := range want {
		r := RequirementsOf(id)
		got := strings.Join([]string{yesNo(r.NeedsCloudConnection), r.AvailableWorldwide, yesNo(r.NeedsSbc), yesNo(r.NeedsCarrierContract), yesNo(r.NeedsOnPremServer)}, " ")
		if got != w {
			t.Errorf("%s: %s, want %s", id, got, w)
		}
	}
}
