package e2e

// The starter configurations of `switchboard plan --write` (issue 7): for
// each topology, the files are written by the real binary, served with
// `serve --config` (ports and data dir overridden by flags), applied with
// `apply -f`, and two of the written users call each other by extension.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/cli"
)

func TestPlanStarterRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, topology string // topology: the best fit
		answers        string
		call           bool // the users are homed on this node: place a call
	}{
		{"calling-plan", "calling-plan", "country: US\n", true},
		{"direct-routing", "direct-routing", "country: BR\n", true},
		{"enterprise-voice", "enterprise-voice", "country: BR\nexistingOnPremServer: true\nusersHomed: onprem\n", true},
		{"mixed", "calling-plan", "country: GB\nmixCarrierAndCallingPlan: true\n", true},
		// The cloud side only: the users are homed on the edges.
		{"edge-hybrid", "edge-hybrid", "country: DE\nkeepCarrier: true\nneedLocalSurvivability: true\n", false},
		{"edge-hybrid split domain", "edge-hybrid", "country: US\nexistingOnPremServer: true\nusersHomed: both\n", false},
		{"migration", "direct-routing", "country: FR\nexistingOnPremServer: true\nusersHomed: onprem\nmoveUsersToCloud: true\nkeepCarrier: true\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bin := needServer(t)
			dir := t.TempDir()
			answers := filepath.Join(dir, "answers.yaml")
			if err := os.WriteFile(answers, []byte(tc.answers), 0o600); err != nil {
				t.Fatal(err)
			}
			starter := filepath.Join(dir, "starter")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, "plan", "--answers", answers, "--write", starter,
				"--domain", "contoso.com", "--users", "2").CombinedOutput()
			if err != nil {
				t.Fatalf("switchboard plan: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Starter configuration for "+tc.topology) {
				t.Fatalf("switchboard plan did not write a %s starter:\n%s", tc.topology, out)
			}

			s := startServerWith(t, "--config", filepath.Join(starter, "switchboard.yaml"))
			tenantPath := filepath.Join(starter, "tenant.yaml")
			if out, err := s.cli(t, "apply", "-f", tenantPath, "--dry-run"); err != nil {
				t.Fatal(err)
			} else if !strings.Contains(string(out), "dry run") {
				t.Logf("apply --dry-run:\n%s", out)
			}
			if _, err := s.cli(t, "apply", "-f", tenantPath); err != nil {
				t.Fatal(err)
			}
			if !tc.call {
				return
			}

			data, err := os.ReadFile(tenantPath)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := cli.LoadDocuments(tenantPath, data)
			if err != nil || len(docs) != 1 || len(docs[0].Users) < 2 {
				t.Fatalf("tenant.yaml: %v (%d documents)", err, len(docs))
			}
			caller, callee := docs[0].Users[0], docs[0].Users[1]
			cUser, cDomain, _ := strings.Cut(caller.SIPAddress, "@")
			eUser, eDomain, _ := strings.Cut(callee.SIPAddress, "@")

			reg := startSipp(t, sippOpts{
				Name: "callee-" + eUser, Scenario: "register.xml", OOC: "uas.xml", Remote: s.SIP,
				CSV: []string{registerLine(eUser, eDomain, callee.Password)}, Calls: 1,
				PauseMS: int(2 * time.Minute / time.Millisecond), AuthURI: eDomain, RTPEcho: true,
				Timeout: 3 * time.Minute, RecvTimeout: 10 * time.Second,
			})
			reg.waitLog(t, "registered "+callee.SIPAddress, 20*time.Second)
			defer reg.stop(t)

			target := callee.Extension
			runSipp(t, sippOpts{
				Name: "caller-" + cUser, Scenario: "uac.xml", Remote: s.SIP,
				CSV:     []string{callerLine(cUser, cDomain, caller.Password, target)},
				AuthURI: target + "@" + cDomain, Calls: 1, PauseMS: 1000,
				Keys:    [][2]string{rtpStreamKey(t)},
				Timeout: 60 * time.Second, RecvTimeout: 15 * time.Second,
			}).requireOK(t)

			c := s.waitCDR(t, "answered call to "+target, cdrFor(target, map[string]bool{}))
			if c.Result != "answered" || int(c.Cause) != 200 || c.Tenant != docs[0].Tenant {
				t.Errorf("CDR result/cause/tenant = %s/%v/%s, want answered/200/%s: %v", c.Result, c.Cause, c.Tenant, docs[0].Tenant, c)
			}
			if !strings.Contains(c.Callee, eUser) {
				t.Errorf("CDR callee = %q, want %s: %v", c.Callee, callee.SIPAddress, c)
			}
		})
	}
}
