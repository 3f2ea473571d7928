package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/app"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/store/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// contosoDoc is examples/contoso-full.yaml with what the route test cases
// need besides: carol has enterprise voice disabled; sbc4 is disabled and
// is the only gateway of route "fr" and one of two of route "uk"; sbc5 is
// the SBC at edge redmond-edge (Active), tried before sbc1 by route "de".
func contosoDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "contoso-full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range [][2]string{
		{"  - fqdn: sbc3.contoso.com\n", "  - fqdn: sbc4.contoso.com\n    enabled: false\n" +
			"  - {fqdn: sbc5.contoso.com, edge: redmond-edge, enabled: true}\n  - fqdn: sbc3.contoso.com\n"},
		{"voiceRoutes:\n", "voiceRoutes:\n" +
			"  - {name: uk, numberPattern: '^\\+44\\d+$', priority: 3, onlinePstnGatewayList: [sbc4.contoso.com, sbc2.contoso.com], onlinePstnUsages: [LongDistance]}\n" +
			"  - {name: fr, numberPattern: '^\\+33\\d+$', priority: 4, onlinePstnGatewayList: [sbc4.contoso.com], onlinePstnUsages: [LongDistance]}\n" +
			"  - {name: de, numberPattern: '^\\+49\\d+$', priority: 5, onlinePstnGatewayList: [sbc5.contoso.com, sbc1.contoso.com], onlinePstnUsages: [LongDistance]}\n"},
	} {
		if !strings.Contains(doc, r[0]) {
			t.Fatalf("examples/contoso-full.yaml no longer has %q", r[0])
		}
		doc = strings.Replace(doc, r[0], r[1], 1)
	}
	if !strings.HasSuffix(doc, "\n") || !strings.Contains(doc, "\nusers:\n") {
		t.Fatal("examples/contoso-full.yaml no longer ends with its users")
	}
	return doc + `  - sipAddress: carol@contoso.com
    displayName: Carol Diaz
    password: "s3cret-Carol"
    extension: "1003"
    lineUri: "+14255550103"
    usageLocation: US
    enterpriseVoiceEnabled: false
    voiceRoutingPolicy: US Only
    dialPlan: Redmond
`
}

// goldenNow is the clock of the in-process server and of the CLI.
var goldenNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// contosoServer is the real admin API (app.NewAdminAPI over SQLite) with
// contosoDoc applied through the CLI. sbc2 has answered OPTIONS (Active);
// so has sbc5; sbc1 has not (Demoted); sbc3 and sbc4 are disabled: gateway order is
// deterministic.
type contosoServer struct {
	env    map[string]string
	health *trunk.Health
}

func newContosoServer(t *testing.T) *contosoServer {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	health := trunk.NewHealth(trunk.Config{}, func() time.Time { return goldenNow })
	h, err := app.NewAdminAPI(context.Background(), db, app.AdminOptions{Token: "tok", Health: health})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cs := &contosoServer{env: map[string]string{envServer: srv.URL, envToken: "tok"}, health: health}
	if code, _, stderr := cs.run(t, "apply", "-f", writeFile(t, "contoso.yaml", contosoDoc(t))); code != 0 {
		t.Fatalf("apply: exit %d: %s", code, stderr)
	}
	health.OptionsReceived("contoso/sbc2.contoso.com")
	health.OptionsReceived("contoso/sbc5.contoso.com")
	return cs
}

func (cs *contosoServer) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	d := testDeps(t, cs.env)
	d.now = func() time.Time { return goldenNow.Add(42 * time.Second) }
	return execute(t, d, "", args...)
}

// TestRouteTestGolden checks `route test` text and JSON output over the
// compiled example tenant against testdata/routetest/*.golden.
func TestRouteTestGolden(t *testing.T) {
	cs := newContosoServer(t)
	for _, tc := range []struct {
		name, user, dial string
		code             int
	}{
		{"extension", "alice@contoso.com", "1002", 0},
		{"own-number", "alice@contoso.com", "+1 (425) 555-0102", 0},
		{"user-part", "alice", "sip:bob@contoso.com", 0},
		{"local-7-digit", "alice@contoso.com", "555-0199", 0},
		{"access-prefix", "alice@contoso.com", "9 555 0199", 0},
		{"long-distance", "alice@contoso.com", "+1 (206) 555-0100", 0},
		{"national-format", "alice@contoso.com", "(206) 555-0100", 0},
		{"premium-900-blocked", "alice@contoso.com", "+1 900 555 0100", 0},
		{"disabled-gateway-skipped", "alice@contoso.com", "+44 20 7946 0000", 0},
		{"all-gateways-disabled", "alice@contoso.com", "+33 1 23 45 67 89", 0},
		{"via-edge", "alice@contoso.com", "+49 30 1234567", 0},
		{"emergency-911", "alice@contoso.com", "911", 0},
		{"emergency-112-mask", "alice@contoso.com", "112", 0},
		{"ev-disabled-pstn", "carol@contoso.com", "+12065550100", 0},
		{"ev-disabled-calls-user", "1003", "1001", 0},
		{"no-policy", "bob@contoso.com", "+12065550100", 0},
		{"unknown-sip-address", "alice@contoso.com", "dave@contoso.com", 0},
		{"nothing-dialled", "alice@contoso.com", " ", 0},
		{"unknown-user", "nobody@contoso.com", "1002", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"text", "json"} {
				code, stdout, stderr := cs.run(t, "route", "test", "--user", tc.user, "--dial", tc.dial, "-o", format)
				if code != tc.code {
					t.Errorf("-o %s: exit %d, want %d; stderr %s", format, code, tc.code, stderr)
				}
				got := stdout
				if code != 0 {
					got = "exit " + string(rune('0'+code)) + "\n" + stderr
				}
				if format == "json" && code == 0 {
					checkDecisionContract(t, stdout)
				}
				checkGoldenFile(t, filepath.Join("routetest", tc.name+"."+format+".golden"), got)
			}
		})
	}
}

// checkDecisionContract asserts the keys scripts rely on are all present.
func checkDecisionContract(t *testing.T, out string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"dialed", "normalized", "rule", "target", "user", "via", "usage", "routes", "reason", "steps"} {
		if _, ok := m[k]; !ok {
			t.Errorf("-o json lacks %q:\n%s", k, out)
		}
	}
	var d routing.Decision
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Routes == nil {
		t.Errorf("routes must be a list: %v\n%s", err, out)
	}
}

func TestRouteTestUsage(t *testing.T) {
	cs := newContosoServer(t)
	for _, args := range [][]string{
		{"route", "test", "--user", "alice"},
		{"route", "test", "--dial", "1002"},
		{"route", "test", "--user", "alice", "--dial", "1", "-o", "yaml"},
	} {
		if code, _, _ := cs.run(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, stdout, _ := cs.run(t, "route", "--help"); code != 0 || !strings.Contains(stdout, "test") {
		t.Errorf("route --help: exit %d\n%s", code, stdout)
	}
}

func checkGoldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs (go test -update rewrites it after review):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
