package e2e

// Helpers of the Calling Plan tests (issue 5): SIPp carriers on their own
// loopback addresses, the operator configuration (examples/operator.yaml
// with the carriers moved there and a short billed minute), and readers of
// usage, credits and CDRs through the CLI.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Loopback addresses of the carriers and of the SBC of the mixed routing
// test; phones use 127.0.0.1, the Direct Routing tests 127.0.0.2-4.
const (
	cpCarrierAIP = "127.0.0.5"
	cpCarrierBIP = "127.0.0.6"
	cpSBCIP      = "127.0.0.7"
)

// cpMinute is the billed minute of these tests (testMinuteSeconds): the
// issue's durations (90 s, 40 s, a 60 s cut-off) scale by cpMinute/60 s.
const cpMinute = 4 * time.Second

// scaled is d of real time in billed minutes of cpMinute.
func cpScaled(d time.Duration) time.Duration { return d / (time.Minute / cpMinute) }

// cpIP skips the test when ip cannot be bound (not Linux).
func cpIP(t *testing.T, ip string) {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot bind %s (carriers need their own loopback address): %v", ip, err)
	}
	_ = c.Close()
}

// cpPort is a port free for UDP and TCP on ip.
func cpPort(t *testing.T, ip string) int {
	t.Helper()
	cpIP(t, ip)
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(p)))
		_ = l.Close()
		if err == nil {
			_ = u.Close()
			return p
		}
	}
	t.Fatalf("no free port on %s", ip)
	return 0
}

// cpOperatorConfig is examples/operator.yaml with carrier-a and carrier-b
// at the given addresses, the short minute, and edits (old → new) applied.
func cpOperatorConfig(t *testing.T, carrierA, carrierB string, edits ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "operator.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	edits = append([]string{`"127.0.0.1:5090"`, strconv.Quote(carrierA), `"127.0.0.1:5091"`, strconv.Quote(carrierB),
		"callingPlan:\n", fmt.Sprintf("callingPlan:\n  testMinuteSeconds: %d\n", int(cpMinute/time.Second))}, edits...)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("examples/operator.yaml no longer contains %q", edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), "operator.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cpTenant is contoso with alice and bob on the US Domestic Calling Plan;
// extra is more YAML (gateways, routes, policies) and aliceExtra more keys
// of alice.
func cpTenant(extra, aliceExtra string) string {
	return `tenant: contoso
domains: [contoso.com]
` + extra + `users:
  - {sipAddress: alice@contoso.com, displayName: Alice Smith, password: "s3cret-Alice", extension: "1001", usageLocation: US, enterpriseVoiceEnabled: true, callingPlan: Domestic` + aliceExtra + `}
  - {sipAddress: bob@contoso.com, displayName: Bob Jones, password: "s3cret-Bob", extension: "1002", usageLocation: US, enterpriseVoiceEnabled: true, callingPlan: Domestic}
`
}

// cpRig is a server with the operator's Calling Plan and two SIPp carriers.
type cpRig struct {
	s      *server
	a, b   *sippProc
	aAddr  string
	bAddr  string
	config string
}

// startCP starts carrier-a and carrier-b (scenarios scenA, scenB) and a
// server whose operator config puts them there, with the config edits,
// and applies the tenant document.
func startCP(t *testing.T, scenA, scenB, tenantDoc string, edits ...string) *cpRig {
	t.Helper()
	needSIPp(t)
	pa, pb := cpPort(t, cpCarrierAIP), cpPort(t, cpCarrierBIP)
	r := &cpRig{aAddr: net.JoinHostPort(cpCarrierAIP, strconv.Itoa(pa)), bAddr: net.JoinHostPort(cpCarrierBIP, strconv.Itoa(pb))}
	r.a = cpCarrier(t, "carrier-a", cpCarrierAIP, pa, scenA)
	r.b = cpCarrier(t, "carrier-b", cpCarrierBIP, pb, scenB)
	r.config = cpOperatorConfig(t, r.aAddr, r.bAddr, edits...)
	r.s = startServerWith(t, "--config", r.config)
	r.s.apply(t, tenantDoc)
	return r
}

// cpCarrier runs a SIPp carrier (UAS) on ip:port until the test ends.
func cpCarrier(t *testing.T, name, ip string, port int, scen string) *sippProc {
	t.Helper()
	p := startSipp(t, sippOpts{Name: name, Scenario: scen, IP: ip, Port: port, Calls: 10000, Timeout: 5 * time.Minute})
	waitFor(t, 10*time.Second, 20*time.Millisecond, name+" listening on "+ip, func() (bool, string) {
		if !p.running() {
			t.Fatalf("sipp %s exited at start: %s", name, strings.Join(p.Out.Snapshot(), " | "))
		}
		c, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			_ = c.Close()
			return false, "not yet"
		}
		return true, ""
	})
	return p
}

// cpInvites are the INVITE lines a carrier (or phone) logged.
func cpInvites(p *sippProc) []string {
	var out []string
	for _, l := range p.logLines() {
		if strings.HasPrefix(l, "INVITE ") {
			out = append(out, l)
		}
	}
	return out
}

// cpStatusLines are the status lines of the responses p received.
func cpStatusLines(p *sippProc) []string {
	var out []string
	for _, l := range readLines(filepath.Join(p.Dir, "messages.log")) {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "SIP/2.0 ") {
			out = append(out, l)
		}
	}
	return out
}

// cpFinal checks that the caller p got status code with reason.
func cpFinal(t *testing.T, p *sippProc, code int, reason string) {
	t.Helper()
	want := fmt.Sprintf("SIP/2.0 %d %s", code, reason)
	for _, l := range cpStatusLines(p) {
		if l == want {
			return
		}
	}
	t.Errorf("the caller never got %q; it got %q", want, cpStatusLines(p))
}

// cpDial runs alice's call to number: uac.xml talking for talk, or with
// expect > 0 uac_expect.xml expecting that status.
func cpDial(t *testing.T, s *server, number string, talk time.Duration, expect int) *sippProc {
	t.Helper()
	name := fmt.Sprintf("alice-%s-%d", strings.TrimPrefix(number, "+"), time.Now().UnixNano()%100000)
	if expect > 0 {
		p := dial(t, s, "uac_expect.xml", number, sippOpts{Name: name, Sets: [][2]string{{"expect", strconv.Itoa(expect)}}})
		p.requireOK(t)
		return p
	}
	p := dial(t, s, "uac.xml", number, sippOpts{Name: name, PauseMS: int(talk / time.Millisecond),
		Keys: [][2]string{rtpStreamKey(t)}})
	p.requireOK(t)
	return p
}

// cpCDR is a CDR with the fields of issue 5.
type cpCDR struct {
	CallID    string  `json:"callId"`
	Caller    string  `json:"caller"`
	Callee    string  `json:"callee"`
	Result    string  `json:"result"`
	Cause     int     `json:"cause"`
	Duration  float64 `json:"durationSeconds"`
	HangupBy  string  `json:"hangupBy"`
	Via       string  `json:"via"`
	Emergency bool    `json:"emergency"`
}

// cpWaitCDR waits for the CDR of a call to callee.
func cpWaitCDR(t *testing.T, s *server, callee string) cpCDR {
	t.Helper()
	var found cpCDR
	waitFor(t, 15*time.Second, 100*time.Millisecond, "CDR of the call to "+callee, func() (bool, string) {
		out, err := s.cli(t, "cdr", "--tenant", "contoso", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var list []cpCDR
		if err := json.Unmarshal(bytes.TrimSpace(out), &list); err != nil {
			return false, err.Error()
		}
		for _, c := range list {
			if c.Callee == callee {
				found = c
				return true, ""
			}
		}
		return false, string(out)
	})
	return found
}

// cpUsage is `switchboard usage -o json`, the fields the tests read.
type cpUsage struct {
	Pools []struct {
		Country, Plan, Kind                      string
		Included, Used, Reserved, Left, Licences int
	} `json:"pools"`
	Credits struct {
		Balance  json.Number `json:"balance"`
		Reserved json.Number `json:"reserved"`
		Spent    json.Number `json:"spent"`
	} `json:"credits"`
	Users []struct {
		User    string      `json:"user"`
		Calls   int         `json:"calls"`
		Minutes int         `json:"minutes"`
		Spent   json.Number `json:"spent"`
	} `json:"users"`
}

func cpUsageOf(t *testing.T, s *server) cpUsage {
	t.Helper()
	out, err := s.cli(t, "usage", "--tenant", "contoso", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var u cpUsage
	if err := json.Unmarshal(out, &u); err != nil {
		t.Fatalf("usage -o json: %v\n%s", err, out)
	}
	return u
}

// usedMinutes is the minutes used of the US Domestic domestic pool.
func cpUsedMinutes(t *testing.T, s *server) (used, left int) {
	t.Helper()
	for _, p := range cpUsageOf(t, s).Pools {
		if p.Country == "US" && p.Plan == "Domestic" && p.Kind == "domestic" {
			return p.Used, p.Left
		}
	}
	t.Fatalf("no US Domestic pool in %+v", cpUsageOf(t, s))
	return 0, 0
}

// waitUsed polls until the pool shows used minutes (settled at the CDR).
func cpWaitUsed(t *testing.T, s *server, used int) {
	t.Helper()
	waitFor(t, 10*time.Second, 100*time.Millisecond, fmt.Sprintf("%d minute(s) used", used), func() (bool, string) {
		u, left := cpUsedMinutes(t, s)
		return u == used, fmt.Sprintf("used %d, left %d", u, left)
	})
}

// balance is the tenant's credit balance as text ("0.954").
func cpBalance(t *testing.T, s *server) string {
	t.Helper()
	return cpUsageOf(t, s).Credits.Balance.String()
}

// topUp adds credits with the CLI.
func cpTopUp(t *testing.T, s *server, amount string) {
	t.Helper()
	if _, err := s.cli(t, "credits", "topup", "--tenant", "contoso", "--amount", amount); err != nil {
		t.Fatal(err)
	}
}
