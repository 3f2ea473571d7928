package e2e

// Direct Routing, SBC health (issue 4 acceptance, PRODUCT.md §4): OPTIONS
// pings every --options-interval; a gateway is Active when it answered (or
// sent) OPTIONS within --health-window, Demoted otherwise, and Demoted
// gateways are tried last. The status is read where admins see it
// (`switchboard get pstnGateways --status -o json` and the
// switchboard_gateway_up metric) and where calls feel it: the order in
// which the gateways of one route are tried. Both SBCs share one route,
// whose gateways are shuffled with Active before Demoted: a run of calls
// that all reach the same SBC shows the other one Demoted (by chance: 1
// in 2^n).

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

const (
	optionsInterval = time.Second
	healthWindow    = 3 * time.Second
	healthCalls     = 6 // calls per phase: 1 in 64 to pass by chance
)

// countLogged polls until p logged at least n lines starting with prefix.
func waitLogged(t *testing.T, p *sippProc, prefix string, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 50*time.Millisecond, fmt.Sprintf("%d %q lines from %s", n, prefix, p.Name), func() (bool, string) {
		got := len(logged(p, prefix))
		if !p.running() {
			t.Fatalf("sipp %s exited: %s", p.Name, p.errorSummary())
		}
		return got >= n, fmt.Sprintf("%d so far", got)
	})
}

// gatewayStatus reads a gateway's status with `switchboard get
// pstnGateways --status -o json`.
func gatewayStatus(t *testing.T, s *server, fqdn string) string {
	t.Helper()
	out, err := s.cli(t, "get", "pstnGateways", "--tenant", "contoso", "--status", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var sts []struct {
		FQDN   string `json:"fqdn"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal(out, &sts); err != nil {
		t.Fatalf("get pstnGateways --status -o json: %v\n%s", err, out)
	}
	for _, st := range sts {
		if strings.EqualFold(st.FQDN, fqdn) {
			return st.Status
		}
	}
	t.Fatalf("gateway %s not in the status list: %s", fqdn, out)
	return ""
}

// waitStatus polls until the CLI shows fqdn with status want, checks the
// metric agrees, and returns how long it took.
func waitStatus(t *testing.T, s *server, fqdn, want string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, timeout, 100*time.Millisecond, fqdn+" "+want, func() (bool, string) {
		got := gatewayStatus(t, s, fqdn)
		return got == want, "status " + got
	})
	took := time.Since(start)
	up := s.metric(t, "switchboard_gateway_up", map[string]string{"tenant": "contoso", "gateway": fqdn})
	if (want == "Active") != (up == 1) {
		t.Errorf("switchboard_gateway_up{gateway=%q} = %v while the CLI shows %s", fqdn, up, want)
	}
	return took
}

// callsReach places healthCalls calls and checks that all of them reach
// want, none other.
func callsReach(t *testing.T, s *server, name string, want, other *sippProc) {
	t.Helper()
	w0, o0 := len(invites(want)), len(invites(other))
	dial(t, s, "uac.xml", dialedNational, sippOpts{
		Name: name, Calls: healthCalls, Limit: 1, PauseMS: 200, Timeout: 90 * time.Second,
		Keys: [][2]string{rtpStreamKey(t)},
	}).requireOK(t)
	w, o := len(invites(want))-w0, len(invites(other))-o0
	if w != healthCalls || o != 0 {
		t.Errorf("%d calls: %d reached %s (want all), %d reached %s (want none: it is Demoted, tried last)",
			healthCalls, w, want.Name, o, other.Name)
	}
}

func TestDROptionsHealth(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	s := startServerWith(t, "--options-interval", optionsInterval.String(), "--health-window", healthWindow.String())
	p1, p2 := sbcPort(t, sbc1IP), sbcPort(t, sbc2IP)
	gws := []drGateway{
		{FQDN: "sbc1.contoso.com", IP: sbc1IP, Port: p1, Options: true},
		{FQDN: "sbc2.contoso.com", IP: sbc2IP, Port: p2, Options: true},
	}
	s.apply(t, drDoc(gws, []drRoute{{Name: "both", Priority: 1, Gateways: []string{gws[0].FQDN, gws[1].FQDN}}}))

	sbc1 := startSBC(t, "sbc1", sbc1IP, p1, "sbc_answer.xml", sippOpts{})
	sbc2 := startSBC(t, "sbc2", sbc2IP, p2, "sbc_answer.xml", sippOpts{})
	waitLogged(t, sbc1, "OPTIONS", 1, 10*time.Second)
	waitLogged(t, sbc2, "OPTIONS", 1, 10*time.Second)
	waitStatus(t, s, "sbc1.contoso.com", "Active", 5*time.Second)
	waitStatus(t, s, "sbc2.contoso.com", "Active", 5*time.Second)

	t.Run("the SBC's own OPTIONS are answered", func(t *testing.T) {
		host, _, _ := net.SplitHostPort(s.SIP)
		runSipp(t, sippOpts{Name: "sbc1-ping", Scenario: "sbc_options.xml", Remote: s.SIP, IP: sbc1IP,
			CSV: []string{host + ";sbc1.contoso.com"}, Calls: 1, Timeout: 20 * time.Second}).requireOK(t)
	})

	// sbc1 stops answering: same address and port, OPTIONS unanswered.
	t.Run("an SBC that stops answering is Demoted and tried last", func(t *testing.T) {
		sbc1.stop(t)
		muted := startSBC(t, "sbc1-muted", sbc1IP, p1, "sbc_answer.xml",
			sippOpts{Sets: [][2]string{{"mute_options", "1"}}})
		// Demoted once the window passes without an answer: within the
		// window plus one ping interval (and scheduling slack).
		took := waitStatus(t, s, "sbc1.contoso.com", "Demoted", healthWindow+optionsInterval+5*time.Second)
		t.Logf("sbc1 shown Demoted %v after it stopped answering (window %v)", took.Round(10*time.Millisecond), healthWindow)
		if took > healthWindow+optionsInterval+2*time.Second {
			t.Errorf("sbc1 shown Demoted after %v, want within the health window %v (+ one interval)", took, healthWindow)
		}
		if n := len(logged(muted, "OPTIONS")); n == 0 {
			t.Error("the muted sbc1 was not pinged while Demoted (Demoted gateways are still probed)")
		}
		callsReach(t, s, "calls-sbc1-demoted", sbc2, muted)

		// It answers again: Active again. sbc2 now stops answering, so
		// the order is fixed only if sbc1 really is Active again (two
		// Demoted gateways would be shuffled).
		t.Run("and returns to Active when it answers again", func(t *testing.T) {
			muted.stop(t)
			back := startSBC(t, "sbc1-back", sbc1IP, p1, "sbc_answer.xml", sippOpts{})
			sbc2.stop(t)
			sbc2Muted := startSBC(t, "sbc2-muted", sbc2IP, p2, "sbc_answer.xml",
				sippOpts{Sets: [][2]string{{"mute_options", "1"}}})
			took := waitStatus(t, s, "sbc1.contoso.com", "Active", 3*optionsInterval+5*time.Second)
			t.Logf("sbc1 Active again %v after it answers", took.Round(10*time.Millisecond))
			waitStatus(t, s, "sbc2.contoso.com", "Demoted", healthWindow+optionsInterval+5*time.Second)
			if len(logged(sbc2Muted, "OPTIONS")) == 0 || len(logged(back, "OPTIONS")) == 0 {
				t.Error("the SBCs were not pinged")
			}
			callsReach(t, s, "calls-sbc1-back", back, sbc2Muted)
		})
	})

	// A probe that blocks must not leave the server holding dialogs.
	for _, l := range s.Log.Snapshot() {
		if strings.Contains(l, "panic") {
			t.Errorf("server log: %s", l)
		}
	}
}
