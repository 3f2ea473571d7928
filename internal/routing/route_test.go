package routing

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type routeCase struct {
	name   string
	tenant string // "" is contoso
	caller string
	dial   string
	health map[string]Status // fqdn → status; absent is Active

	// checked inline as well as in the golden file
	target     Target
	normalized string
}

const (
	sbc1 = "sbc1.contoso.com"
	sbc2 = "sbc2.contoso.com"
	sbc3 = "sbc3.contoso.com"
)

func routeCases() []routeCase {
	return []routeCase{
		// Extensions and users of the tenant.
		{name: "extension rule resolves to a user", caller: "alice", dial: "1002", target: TargetUser, normalized: "1002"},
		{name: "extension rule without a user is routed as a number", caller: "alice", dial: "1999", target: TargetRejected, normalized: "1999"},
		{name: "E.164 number of an own user never leaves", caller: "alice", dial: "+14255550102", target: TargetUser, normalized: "+14255550102"},
		{name: "national number of an own user never leaves", caller: "alice", dial: "(425) 555-0102", target: TargetUser, normalized: "+14255550102"},
		{name: "sip address of a user", caller: "alice", dial: "bob@contoso.com", target: TargetUser, normalized: "bob@contoso.com"},
		{name: "sip address of another tenant is not found", caller: "alice", dial: "erin@fabrikam.com", target: TargetRejected},
		{name: "extension rule translating to an own number", caller: "london", dial: "2001", target: TargetUser, normalized: "+442079462001"},
		{name: "access prefix then extension rule", caller: "london", dial: "9 2001", target: TargetUser, normalized: "+442079462001"},
		{name: "sip uri of a user", caller: "alice", dial: "sip:bob@contoso.com", target: TargetUser, normalized: "bob@contoso.com"},
		{name: "user part of a user", caller: "alice", dial: "bob", target: TargetUser, normalized: "bob"},
		{name: "tel uri of an own number", caller: "alice", dial: "tel:+1-425-555-0102", target: TargetUser, normalized: "+14255550102"},
		{name: "berlin internal extension", caller: "berlin", dial: "3001", target: TargetUser, normalized: "3001"},

		// Dial plan rules: order, separators, + passthrough, access prefix.
		{name: "global local 7 digits", caller: "alice", dial: "555-0199", target: TargetPSTN, normalized: "+14255550199"},
		{name: "first matching rule wins", caller: "redmond", dial: "0", target: TargetPSTN, normalized: "+14255550100"},
		{name: "rule order: 4 digits is an extension before anything else", caller: "redmond", dial: "1001", target: TargetUser, normalized: "1001"},
		{name: "named group rule on the dotnet engine", caller: "redmond", dial: "8 425 555 0177", target: TargetPSTN, normalized: "+14255550177"},
		{name: "external access prefix removed", caller: "redmond", dial: "9 555 0142", target: TargetPSTN, normalized: "+14255550142"},
		{name: "access prefix alone is not removed", caller: "redmond", dial: "9", target: TargetRejected, normalized: "9"},
		{name: "plus passthrough with separators", caller: "alice", dial: "+1 (425) 555-0123", target: TargetPSTN, normalized: "+14255550123"},
		{name: "plus is not normalised by rules", caller: "redmond", dial: "+0", target: TargetRejected, normalized: "+0"},
		{name: "global short rule", caller: "alice", dial: "955", target: TargetPSTN, normalized: "+14255550955"},
		{name: "lookahead normalisation rule", caller: "berlin", dial: "1234567", target: TargetPSTN, normalized: "+49301234567"},

		// Country rules from libphonenumber.
		{name: "US national 10 digits", caller: "alice", dial: "(206) 555-0100", target: TargetPSTN, normalized: "+12065550100"},
		{name: "US national with trunk prefix 1", caller: "alice", dial: "1-206-555-0100", target: TargetPSTN, normalized: "+12065550100"},
		{name: "US international prefix 011", caller: "redmond", dial: "9 011 44 20 7946 0000", target: TargetPSTN, normalized: "+442079460000"},
		{name: "US implausible national number is left alone", caller: "alice", dial: "1425555010", target: TargetRejected, normalized: "1425555010"},
		{name: "GB national with trunk prefix 0", caller: "london", dial: "020 7946 0000", target: TargetPSTN, normalized: "+442079460000"},
		{name: "GB mobile", caller: "london", dial: "07700 900123", target: TargetPSTN, normalized: "+447700900123"},
		{name: "GB international prefix 00", caller: "london", dial: "00 49 30 1234 5678", target: TargetPSTN, normalized: "+493012345678"},
		{name: "GB international to NANP", caller: "london", dial: "001 206 555 0100", target: TargetRejected, normalized: "+12065550100"},
		{name: "DE national with trunk prefix 0", caller: "berlin", dial: "030 12345678", target: TargetPSTN, normalized: "+493012345678"},
		{name: "DE international prefix 00", caller: "berlin", dial: "0033 1 23 45 67 89", target: TargetPSTN, normalized: "+33123456789"},
		{name: "DE number without trunk prefix is not national", caller: "berlin", dial: "301234567890", target: TargetRejected, normalized: "301234567890"},
		{name: "FR national with trunk prefix 0", caller: "paris", dial: "01 23 45 67 89", target: TargetPSTN, normalized: "+33123456789"},
		{name: "FR mobile with dots", caller: "paris", dial: "06.12.34.56.78", target: TargetPSTN, normalized: "+33612345678"},
		{name: "FR international prefix 00", caller: "paris", dial: "00 44 20 7946 0000", target: TargetPSTN, normalized: "+442079460000"},
		{name: "FR too short for a number", caller: "paris", dial: "0123", target: TargetRejected, normalized: "0123"},
		{name: "unknown usageLocation has no country rules", caller: "mars", dial: "2065550100", target: TargetRejected, normalized: "2065550100"},
		{name: "no usageLocation has no country rules", caller: "nowhere", dial: "2065550100", target: TargetRejected, normalized: "2065550100"},
		{name: "letters are not normalised", caller: "alice", dial: "1-800-FLOWERS", target: TargetRejected, normalized: "1800FLOWERS"},

		// Usages, priorities, gateways.
		{name: "first usage with a match wins", caller: "alice", dial: "+14255550123", target: TargetPSTN},
		{name: "later usage never evaluated", caller: "ldFirst", dial: "+14255550123", target: TargetPSTN},
		{name: "earlier usage without match is passed", caller: "alice", dial: "+12065550100", target: TargetPSTN},
		{name: "priority ties sorted by name", caller: "redmond", dial: "+12065550100", target: TargetPSTN},
		{name: "lookahead route excludes premium", caller: "alice", dial: "1 900 555 0100", target: TargetRejected, normalized: "+19005550100"},
		{name: "international usage for non NANP", caller: "redmond", dial: "+81312345678", target: TargetPSTN},
		{name: "demoted gateway tried last", caller: "alice", dial: "+14255550123", health: map[string]Status{sbc1: Demoted}, target: TargetPSTN},
		{name: "all demoted are still tried", caller: "alice", dial: "+14255550123", health: map[string]Status{sbc1: Demoted, sbc2: Demoted, sbc3: Demoted}, target: TargetPSTN},
		{name: "health disabled gateway excluded", caller: "alice", dial: "+14255550123", health: map[string]Status{sbc2: Disabled}, target: TargetPSTN},
		{name: "route without usable gateway still listed", caller: "alice", dial: "+14255550123", health: map[string]Status{sbc3: Disabled}, target: TargetPSTN},
		{name: "all gateways disabled", caller: "drained", dial: "+18005550100", target: TargetRejected},
		{name: "every gateway of every route disabled by health", caller: "alice", dial: "+14255550123", health: map[string]Status{sbc1: Disabled, sbc2: Disabled, sbc3: Disabled}, target: TargetRejected},

		// Emergency.
		{name: "emergency dial string", caller: "alice", dial: "911", target: TargetEmergency, normalized: "911"},
		{name: "emergency mask", caller: "alice", dial: "112", target: TargetEmergency, normalized: "911"},
		{name: "emergency before dial plan", caller: "alice", dial: "933", target: TargetEmergency, normalized: "911"},
		{name: "emergency with enterprise voice disabled", caller: "noEV", dial: "911", target: TargetEmergency, normalized: "911"},
		{name: "emergency without usage uses own routes", caller: "london", dial: "999", target: TargetEmergency, normalized: "999"},
		{name: "emergency mask of own policy", caller: "london", dial: "112", target: TargetEmergency, normalized: "999"},
		{name: "unknown emergency policy falls back to Global", caller: "badERP", dial: "911", target: TargetEmergency, normalized: "911"},
		{name: "emergency without any route", tenant: "fabrikam", caller: "erin", dial: "911", target: TargetRejected, normalized: "911"},

		// Rejections.
		{name: "enterprise voice disabled", caller: "noEV", dial: "+14255550123", target: TargetRejected},
		{name: "enterprise voice disabled may call users", caller: "noEV", dial: "1002", target: TargetUser},
		{name: "no route in usages", caller: "alice", dial: "011 44 20 7946 0000", target: TargetRejected, normalized: "+442079460000"},
		{name: "policy without usages", caller: "noUsage", dial: "+14255550123", target: TargetRejected},
		{name: "unknown dial plan", caller: "badPlan", dial: "+14255550123", target: TargetRejected},
		{name: "unknown voice routing policy", caller: "badVRP", dial: "+14255550123", target: TargetRejected},
		{name: "no voice routing policy and no Global", tenant: "fabrikam", caller: "erin", dial: "206 555 0199", target: TargetRejected, normalized: "+12065550199"},
		{name: "tenant without Global dial plan uses country rules", tenant: "fabrikam", caller: "erinVRP", dial: "206 555 0199", target: TargetPSTN, normalized: "+12065550199"},
		{name: "own number in other tenant", tenant: "fabrikam", caller: "erinVRP", dial: "+12065550142", target: TargetUser},
		{name: "nothing dialled", caller: "alice", dial: " ", target: TargetRejected},
		{name: "control characters", caller: "alice", dial: "911\n", target: TargetRejected},
	}
}

type goldenCase struct {
	Name     string            `json:"name"`
	Tenant   string            `json:"tenant"`
	Caller   Caller            `json:"caller"`
	Dial     string            `json:"dial"`
	Health   map[string]Status `json:"health,omitempty"`
	Decision Decision          `json:"decision"`
}

func TestRouteGolden(t *testing.T) {
	cases := routeCases()
	cs := callers()
	out := make([]goldenCase, 0, len(cases))
	for i, tc := range cases {
		cfg := contoso()
		if tc.tenant == "fabrikam" {
			cfg = bare()
		}
		c, ok := cs[tc.caller]
		if !ok {
			t.Fatalf("%s: no caller %q", tc.name, tc.caller)
		}
		tbl := compileFixture(t, cfg, uint64(i))
		var health func(string) Status
		if tc.health != nil {
			health = func(fqdn string) Status { return tc.health[fqdn] }
		}
		d := tbl.Explain(c, tc.dial, health)
		if d.Target != tc.target {
			t.Errorf("%s: target %s, want %s (reason %q)", tc.name, d.Target, tc.target, d.Reason)
		}
		if tc.normalized != "" && d.Normalized != tc.normalized {
			t.Errorf("%s: normalized %q, want %q", tc.name, d.Normalized, tc.normalized)
		}
		checkDecision(t, tc.name, d)
		// Route is Explain without the steps.
		plain := compileFixture(t, cfg, uint64(i)).Route(c, tc.dial, health)
		steps := d.Steps
		d.Steps = nil
		if a, b := mustJSON(t, plain), mustJSON(t, d); !bytes.Equal(a, b) {
			t.Errorf("%s: Route and Explain differ:\n%s\n%s", tc.name, a, b)
		}
		d.Steps = steps
		out = append(out, goldenCase{Name: tc.name, Tenant: cfg.Name, Caller: c, Dial: tc.dial, Health: tc.health, Decision: d})
	}
	golden(t, "route.golden", out)
}

// checkDecision checks the invariants every decision keeps.
func checkDecision(t *testing.T, name string, d Decision) {
	t.Helper()
	if d.Routes == nil {
		t.Errorf("%s: routes is null", name)
	}
	switch d.Target {
	case TargetRejected:
		if d.Reason == "" || d.Cause == "" || d.Via != "" {
			t.Errorf("%s: rejected with reason %q cause %q via %q", name, d.Reason, d.Cause, d.Via)
		}
	case TargetUser:
		if d.User == "" || len(d.Routes) != 0 || d.Reason != "" {
			t.Errorf("%s: user target %+v", name, d)
		}
	case TargetPSTN, TargetEmergency:
		if d.Via != ViaDirectRouting || d.Usage == "" || len(d.Routes) == 0 || d.Reason != "" {
			t.Errorf("%s: %s target %+v", name, d.Target, d)
		}
	default:
		t.Errorf("%s: unknown target %q", name, d.Target)
	}
	if (d.Target == TargetEmergency) && !d.Emergency {
		t.Errorf("%s: emergency target without the emergency flag", name)
	}
	for _, r := range d.Routes {
		if len(r.Gateways) != len(r.Status) {
			t.Errorf("%s: route %s: %d gateways, %d statuses", name, r.Name, len(r.Gateways), len(r.Status))
		}
		for i, s := range r.Status {
			if s == Disabled {
				t.Errorf("%s: route %s: disabled gateway %s listed", name, r.Name, r.Gateways[i])
			}
			if i > 0 && r.Status[i-1] == Demoted && s == Active {
				t.Errorf("%s: route %s: Active after Demoted: %v", name, r.Name, r.Status)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares v, as indented JSON, with testdata/name; -update rewrites it.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from the golden file; run go test -run %s -update and review the diff.\ngot:\n%s", path, t.Name(), buf.String())
	}
}
