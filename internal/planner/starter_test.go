package planner_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/planner"
)

var operator = planner.Operator{CallingPlanCountries: planner.DefaultCallingPlanCountries()}

// starterCases cover every topology as the best choice, and the mixes.
func starterCases() []struct {
	name string
	a    planner.Answers
	want []planner.ID
} {
	return []struct {
		name string
		a    planner.Answers
		want []planner.ID
	}{
		{"calling-plan", planner.Answers{Country: "US"}, []planner.ID{planner.CallingPlan}},
		{"mixed", planner.Answers{Country: "GB", MixCarrierAndCallingPlan: true}, []planner.ID{planner.CallingPlan, planner.DirectRouting}},
		{"direct-routing", planner.Answers{Country: "BR"}, []planner.ID{planner.DirectRouting}},
		{"edge-hybrid", planner.Answers{Country: "DE", KeepCarrier: true, NeedLocalSurvivability: true}, []planner.ID{planner.EdgeHybrid}},
		{"edge-hybrid split domain", planner.Answers{Country: "US", ExistingOnPremServer: true, UsersHomed: planner.HomedBoth}, []planner.ID{planner.EdgeHybrid, planner.CallingPlan}},
		{"migration", planner.Answers{Country: "FR", ExistingOnPremServer: true, UsersHomed: planner.HomedOnPrem, MoveUsersToCloud: true, KeepCarrier: true}, []planner.ID{planner.DirectRouting, planner.EdgeHybrid}},
		{"enterprise-voice", planner.Answers{Country: "BR", ExistingOnPremServer: true, UsersHomed: planner.HomedOnPrem}, []planner.ID{planner.EnterpriseVoice}},
	}
}

// TestStarterPassesRealValidation writes the starter files of every
// topology and runs them through the validation "serve --config" and
// "apply" use.
func TestStarterPassesRealValidation(t *testing.T) {
	for _, tc := range starterCases() {
		for _, opt := range []planner.Options{{}, {Domain: "Contoso.COM", Users: 40, Sites: 3}} {
			t.Run(tc.name+"/"+opt.Domain, func(t *testing.T) {
				rec, err := planner.Plan(tc.a, operator)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(rec.Recommended, tc.want) {
					t.Fatalf("recommended %v, want %v", rec.Recommended, tc.want)
				}
				opt.Dir = filepath.Join(t.TempDir(), "starter")
				files, err := planner.Write(rec, tc.a, opt)
				if err != nil {
					t.Fatal(err)
				}
				names := map[string]bool{}
				for _, f := range files {
					names[f.Name] = true
					data, err := os.ReadFile(f.Path)
					if err != nil || !bytes.Equal(data, f.Content) {
						t.Fatalf("%s on disk differs from File.Content (err %v)", f.Path, err)
					}
				}
				wantEdge := slices.Contains(rec.Recommended, planner.EdgeHybrid)
				if !names[planner.ServerConfigFile] || !names[planner.TenantFile] || names[planner.EdgeExampleFile] != wantEdge {
					t.Fatalf("files %v (edge example expected: %v)", names, wantEdge)
				}

				cfgPath := filepath.Join(opt.Dir, planner.ServerConfigFile)
				cfg, err := config.Load(cfgPath)
				if err != nil {
					t.Fatalf("serve --config would reject it:\n%v", err)
				}
				if err := cfg.Validate(); err != nil {
					t.Fatalf("serve --config would reject it:\n%v", err)
				}

				tenantPath := filepath.Join(opt.Dir, planner.TenantFile)
				data, _ := os.ReadFile(tenantPath)
				docs, err := cli.LoadDocuments(tenantPath, data)
				if err != nil {
					t.Fatalf("apply would reject it:\n%v\n%s", err, data)
				}
				users := opt.Users
				if users == 0 {
					users = planner.DefaultUsers
				}
				if len(docs) != 1 || len(docs[0].Users) != users {
					t.Fatalf("want one tenant with %d users, got %+v", users, docs)
				}
				seen := map[string]bool{}
				for _, u := range docs[0].Users {
					if len(u.Password) < 16 || seen[u.Password] {
						t.Errorf("weak or repeated password %q", u.Password)
					}
					seen[u.Password] = true
				}
				if fi, err := os.Stat(tenantPath); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("tenant.yaml mode %v (err %v), want 0600: it holds passwords", fi.Mode().Perm(), err)
				}
				for _, todo := range wantTODOs(rec) {
					if !bytes.Contains(data, []byte(todo)) {
						t.Errorf("tenant.yaml does not mention %q", todo)
					}
				}

				if wantEdge {
					checkEdgeExample(t, filepath.Join(opt.Dir, planner.EdgeExampleFile))
				}
			})
		}
	}
}

func wantTODOs(rec planner.Recommendation) []string {
	var out []string
	if slices.ContainsFunc(rec.Recommended, func(id planner.ID) bool { return id != planner.CallingPlan }) {
		out = append(out, "TODO SBC", "certificate", "TODO carrier", "\npstnGateways:\n", "    transport: tls\n",
			"    enabled: false", "\nvoiceRoutingPolicies:\n", "    enterpriseVoiceEnabled: true\n", "    voiceRoutingPolicy: Global\n")
	}
	if slices.Contains(rec.Recommended, planner.CallingPlan) {
		out = append(out, "\n    callingPlan: Domestic", "\n    numberType: CallingPlan\n", "\n    usageLocation: ")
	}
	if slices.Contains(rec.Recommended, planner.EdgeHybrid) {
		out = append(out, "\nedges:\n  - name: site1\n", "\n    edge: site1", "\n    home: site1\n")
	}
	return out
}

// checkEdgeExample checks that the edge example is a valid edge node
// configuration: it loads and validates, cloud section included.
func checkEdgeExample(t *testing.T, path string) {
	t.Helper()
	cfg, err := config.Load(path)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("edge example: %v", err)
	}
	if cfg.Cloud == nil || cfg.Cloud.Edge != "site1" || cfg.Cloud.Tenant == "" {
		t.Errorf("edge example: cloud section %+v, want edge site1 of the tenant", cfg.Cloud)
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	rec, err := planner.Plan(planner.Answers{Country: "US"}, operator)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opt := planner.Options{Dir: dir, Rand: strings.NewReader(strings.Repeat("abcdefgh", 100))}
	first, err := planner.Write(rec, planner.Answers{Country: "US"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planner.Write(rec, planner.Answers{Country: "US"}, planner.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second write: %v, want an error saying the file exists", err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, planner.TenantFile))
	if !bytes.Equal(data, first[1].Content) {
		t.Fatal("a refused write changed a file")
	}
	if _, err := planner.Write(rec, planner.Answers{Country: "US"}, planner.Options{Dir: dir, Overwrite: true}); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
}

func TestWriteOptions(t *testing.T) {
	rec, err := planner.Plan(planner.Answers{Country: "US"}, operator)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []planner.Options{
		{Domain: "localhost"}, {Domain: "bad_domain.com"}, {Domain: "10.0.0.1"},
		{Users: -1}, {Users: planner.MaxUsers + 1}, {Sites: -2}, {Sites: planner.MaxSites + 1},
		{Rand: strings.NewReader("")},
	} {
		if _, err := planner.Write(rec, planner.Answers{Country: "US"}, opt); err == nil {
			t.Errorf("Write with %+v: no error", opt)
		}
	}
	if _, err := planner.Write(planner.Recommendation{}, planner.Answers{}, planner.Options{}); err == nil {
		t.Error("Write without a recommendation: no error")
	}
	// The same random source gives the same files; nothing is written without Dir.
	src := strings.Repeat("0123456789", 200)
	a, err := planner.Write(rec, planner.Answers{Country: "US"}, planner.Options{Rand: strings.NewReader(src)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := planner.Write(rec, planner.Answers{Country: "US"}, planner.Options{Rand: strings.NewReader(src)})
	if !bytes.Equal(a[1].Content, b[1].Content) || a[1].Path != "" {
		t.Error("Write is not deterministic for a given random source, or wrote a file")
	}
}
