package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

func TestGetGatewaysShowsStatus(t *testing.T) {
	cs := newContosoServer(t)
	sbc2 := trunk.Gateway{Key: "contoso/sbc2.contoso.com", Enabled: true, MaxSessions: 100}
	for range 90 {
		cs.health.SessionStart(sbc2)
	}
	code, stdout, stderr := cs.run(t, "get", "pstnGateways")
	want := `FQDN              TRANSPORT  PORT  ADDRESS    EDGE          ENABLED  OPTIONS  STATUS    LAST OPTIONS  SESSIONS
sbc1.contoso.com  udp        5067  127.0.0.1                true     true     Demoted   never         0
sbc2.contoso.com  tls        5061                           true     true     Active    42s ago       90/100 (alert)
sbc3.contoso.com  tls        5061             redmond-edge  false    true     Disabled  never         0
sbc4.contoso.com  tls        5061                           false    true     Disabled  never         0
sbc5.contoso.com  tls        5061             redmond-edge  true     true     Active    42s ago       0
`
	if code != 0 || stdout != want {
		t.Errorf("get pstnGateways: exit %d, stderr %s\n%s\nwant\n%s", code, stderr, stdout, want)
	}
	// One gateway, by an alias.
	code, stdout, _ = cs.run(t, "get", "gateway", "sbc2.contoso.com")
	if code != 0 || !strings.Contains(stdout, "Active  42s ago       90/100 (alert)") || strings.Count(stdout, "\n") != 2 {
		t.Errorf("get gateway sbc2: exit %d\n%s", code, stdout)
	}

	// --status: only the live state.
	code, stdout, _ = cs.run(t, "get", "pstnGateways", "--status")
	want = `FQDN              STATUS    LAST OPTIONS  LAST FAILURE  FAILURES  SESSIONS
sbc1.contoso.com  Demoted   never         never         0         0
sbc2.contoso.com  Active    42s ago       never         0         90/100 (alert)
sbc3.contoso.com  Disabled  never         never         0         0
sbc4.contoso.com  Disabled  never         never         0         0
sbc5.contoso.com  Active    42s ago       never         0         0
`
	if code != 0 || stdout != want {
		t.Errorf("get pstnGateways --status: exit %d\n%s\nwant\n%s", code, stdout, want)
	}
	code, stdout, _ = cs.run(t, "get", "gateway", "sbc2.contoso.com", "--status", "-o", "json")
	var st map[string]any
	if err := json.Unmarshal([]byte(stdout), &st); code != 0 || err != nil || st["status"] != "Active" ||
		st["lastOptions"] != "2026-03-04T05:06:07Z" || st["sessions"] != float64(90) || st["sessionAlert"] != true {
		t.Errorf("--status -o json: exit %d (%v)\n%s", code, err, stdout)
	}
	code, stdout, _ = cs.run(t, "get", "pstnGateways", "--status", "-o", "yaml")
	if code != 0 || !strings.Contains(stdout, "- fqdn: sbc2.contoso.com\n") || !strings.Contains(stdout, "status: Active\n") {
		t.Errorf("--status -o yaml: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := cs.run(t, "get", "voiceRoutes", "--status"); code != exitUsage || !strings.Contains(stderr, "--status applies to pstnGateways only") {
		t.Errorf("--status on routes: exit %d %s", code, stderr)
	}
	if code, _, stderr := cs.run(t, "get", "gateway", "nope.contoso.com", "--status"); code != exitFailure || !strings.Contains(stderr, "not found") {
		t.Errorf("--status of an unknown gateway: exit %d %s", code, stderr)
	}

	// JSON and YAML are the document: no status, and applying it back is a no-op.
	for _, format := range []string{"json", "yaml"} {
		_, stdout, _ = cs.run(t, "get", "pstnGateways", "-o", format)
		if strings.Contains(stdout, "Active") || strings.Contains(stdout, "sessions") {
			t.Errorf("-o %s shows live state:\n%s", format, stdout)
		}
	}
	_, doc, _ := cs.run(t, "get", "pstnGateways", "-o", "yaml")
	code, stdout, stderr = cs.run(t, "apply", "-f", writeFile(t, "gw.yaml", doc))
	if code != 0 || stdout != "tenant contoso: unchanged\n" {
		t.Errorf("get -o yaml | apply: exit %d %s\n%s", code, stderr, stdout)
	}
}
