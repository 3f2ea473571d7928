package e2e

// Helpers of the Direct Routing tests (issue 4): SIPp SBCs on their own
// loopback addresses, the tenant document that wires them, and readers of
// what each SIPp saw.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Loopback addresses of the SBCs. Phones (SIPp callers and callees) use
// 127.0.0.1, so a lab gateway identified by source address never takes a
// phone for an SBC. Linux routes all of 127.0.0.0/8 to lo.
const (
	sbc1IP = "127.0.0.2"
	sbc2IP = "127.0.0.3"
	sbc3IP = "127.0.0.4"
)

// needLoopbackAlias skips when ip (a 127/8 address other than 127.0.0.1)
// cannot be bound here (non-Linux).
func needLoopbackAlias(t *testing.T, ip string) {
	t.Helper()
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot bind %s (SBCs need their own loopback address): %v", ip, err)
	}
	_ = c.Close()
}

// drGateway is one pstnGateways entry of the tenant document.
type drGateway struct {
	FQDN, IP     string
	Port         int
	Transport    string // udp (default) | tcp | tls
	Options      bool   // sendSipOptions
	FailoverTime int    // failoverTimeSeconds; 0 leaves the default (10)
	Extra        string // more flow-style YAML keys, e.g. `allowedAddresses: [...]`
}

func (g drGateway) yaml() string {
	tp := g.Transport
	if tp == "" {
		tp = "udp"
	}
	s := fmt.Sprintf("  - {fqdn: %s, transport: %s, address: %s, sipSignalingPort: %d, enabled: true, sendSipOptions: %v",
		g.FQDN, tp, g.IP, g.Port, g.Options)
	if g.FailoverTime > 0 {
		s += fmt.Sprintf(", failoverTimeSeconds: %d", g.FailoverTime)
	}
	if g.Extra != "" {
		s += ", " + g.Extra
	}
	return s + "}\n"
}

// drRoute is one voiceRoutes entry (usage US, every +1 number).
type drRoute struct {
	Name     string
	Priority int
	Gateways []string
}

// drDoc is the contoso tenant with alice and bob as Direct Routing users
// (policy "US Only": usage US) and the given gateways and routes.
func drDoc(gws []drGateway, routes []drRoute) string {
	var b strings.Builder
	b.WriteString(`tenant: contoso
domains: [contoso.com]
pstnUsages: [US]
translationRules:
  - {name: national-to-e164, pattern: '^(\d{10})$', translation: '+1$1'}
pstnGateways:
`)
	for _, g := range gws {
		b.WriteString(g.yaml())
	}
	b.WriteString("voiceRoutes:\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "  - {name: %s, numberPattern: '^\\+1\\d{10}$', priority: %d, onlinePstnGatewayList: [%s], onlinePstnUsages: [US]}\n",
			r.Name, r.Priority, strings.Join(r.Gateways, ", "))
	}
	b.WriteString(`voiceRoutingPolicies:
  - {name: US Only, onlinePstnUsages: [US]}
users:
  - {sipAddress: alice@contoso.com, displayName: Alice Smith, password: "s3cret-Alice", extension: "1001", lineUri: "+14255550101", usageLocation: US, enterpriseVoiceEnabled: true, voiceRoutingPolicy: US Only}
  - {sipAddress: bob@contoso.com, displayName: Bob Jones, password: "s3cret-Bob", extension: "1002", lineUri: "+14255550102", usageLocation: US, enterpriseVoiceEnabled: true, voiceRoutingPolicy: US Only}
`)
	return b.String()
}

// serialRoutes gives each gateway its own route, priority 1, 2, 3...: the
// order of a hunt is then fixed (gateways of one route are shuffled).
func serialRoutes(gws []drGateway) []drRoute {
	out := make([]drRoute, len(gws))
	for i, g := range gws {
		out[i] = drRoute{Name: "via-" + strings.Split(g.FQDN, ".")[0], Priority: i + 1, Gateways: []string{g.FQDN}}
	}
	return out
}

// startSBC runs a SIPp SBC scenario (sbc_*.xml) as a UAS on ip:port. It
// lives until the test ends (OPTIONS pings count as calls: -m is large).
func startSBC(t *testing.T, name, ip string, port int, scen string, o sippOpts) *sippProc {
	t.Helper()
	needLoopbackAlias(t, ip)
	o.Name, o.Scenario, o.IP, o.Port = name, scen, ip, port
	if o.Calls == 0 {
		o.Calls = 10000
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	// The port was free when the test chose it (testkit.FreePort), but in
	// rare CI runs something held it for a moment when SIPp bound it —
	// gone by the time ss looked. The server is already configured with
	// this port, so SIPp tries it again a few times before the test fails.
	for attempt := 1; ; attempt++ {
		p := startSipp(t, o)
		inUse := false
		waitFor(t, 10*time.Second, 20*time.Millisecond, "sipp "+name+" listening on "+ip, func() (bool, string) {
			if !p.running() {
				out := strings.Join(p.Out.Snapshot(), " | ")
				if attempt < 4 && strings.Contains(out, "Address already in use") {
					inUse = true
					return true, ""
				}
				t.Fatalf("sipp %s exited at start: %s%s", name, out, portHolders(ip, port))
			}
			return udpBusy(ip, port, o.Transport), "not yet"
		})
		if !inUse {
			return p
		}
		t.Logf("sipp %s: %s:%d in use at start (attempt %d), trying again%s", name, ip, port, attempt, portHolders(ip, port))
		time.Sleep(300 * time.Millisecond)
	}
}

// udpBusy says whether something listens on ip:port (UDP, or TCP for t1).
func udpBusy(ip string, port int, transport string) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if transport == "t1" {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

// logged returns the lines of p's -trace_logs that start with prefix.
func logged(p *sippProc, prefix string) []string {
	var out []string
	for _, l := range p.logLines() {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// invites are the INVITEs an SBC or phone scenario logged.
func invites(p *sippProc) []string { return logged(p, "INVITE ") }

// waitInvites polls until p logged at least n INVITEs and returns them.
func waitInvites(t *testing.T, p *sippProc, n int, timeout time.Duration) []string {
	t.Helper()
	var got []string
	waitFor(t, timeout, 20*time.Millisecond, fmt.Sprintf("%d INVITE(s) at %s", n, p.Name), func() (bool, string) {
		got = invites(p)
		return len(got) >= n, fmt.Sprintf("%d so far", len(got))
	})
	return got
}

// received lists the first lines (start line) of the messages p received,
// from its -trace_msg file.
func received(p *sippProc) []string {
	lines := readLines(filepath.Join(p.Dir, "messages.log"))
	var out []string
	for i := 0; i < len(lines); i++ {
		if !strings.Contains(lines[i], "message received") {
			continue
		}
		for j := i + 1; j < len(lines); j++ {
			if l := strings.TrimSpace(lines[j]); l != "" {
				out = append(out, l)
				i = j
				break
			}
		}
	}
	return out
}

// provisionals counts the 18x responses p received.
func provisionals(p *sippProc) int {
	n := 0
	for _, l := range received(p) {
		if strings.HasPrefix(l, "SIP/2.0 18") {
			n++
		}
	}
	return n
}

// registerDevice registers user from its own SIPp socket and answers calls
// with the out-of-call scenario ooc (dr_phone.xml logs each INVITE).
func registerDevice(t *testing.T, s *server, user, password, ooc string, life time.Duration) *sippProc {
	t.Helper()
	p := startSipp(t, sippOpts{
		Name: "phone-" + user, Scenario: "register.xml", OOC: ooc, Remote: s.SIP,
		CSV: []string{registerLine(user, domain, password)}, Calls: 1,
		PauseMS: int(life / time.Millisecond), AuthURI: domain, RTPEcho: true,
		Timeout: life + 30*time.Second, RecvTimeout: 10 * time.Second,
	})
	p.waitLog(t, "registered "+user+"@"+domain, 20*time.Second)
	return p
}

// startCall starts alice's SIPp caller (dial, without waiting for the end).
func startCall(t *testing.T, s *server, scen, target, name string, o sippOpts) *sippProc {
	t.Helper()
	o.Scenario, o.Remote, o.Name = scen, s.SIP, name
	o.CSV = []string{callerLine("alice", domain, alicePassword, target)}
	o.AuthURI = target + "@" + domain
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RecvTimeout == 0 {
		o.RecvTimeout = 20 * time.Second
	}
	return startSipp(t, o)
}

// sbcCall runs sbc_invite.xml from ip: an SBC calling called at the
// server, from calling, expecting the final status expect.
func sbcCall(t *testing.T, s *server, name, ip, called, calling string, expect int) *sippProc {
	t.Helper()
	needLoopbackAlias(t, ip)
	host, _, _ := net.SplitHostPort(s.SIP)
	return runSipp(t, sippOpts{
		Name: name, Scenario: "sbc_invite.xml", Remote: s.SIP, IP: ip,
		CSV: []string{strings.Join([]string{called, host, calling}, ";")}, Calls: 1, PauseMS: 500,
		Sets: [][2]string{{"expect", strconv.Itoa(expect)}}, Timeout: 60 * time.Second, RecvTimeout: 20 * time.Second,
	})
}

// sbcPort returns a port free for UDP and TCP on ip (an SBC's address),
// from testkit's reserved band below the kernel's ephemeral range: an
// SBC restarted on the same port must not find it taken by an outgoing
// socket of a parallel test (bound on the wildcard) in the meantime.
func sbcPort(t *testing.T, ip string) int {
	t.Helper()
	needLoopbackAlias(t, ip)
	return freePort(t)
}

// portHolders says which processes hold port on ip, for a SIPp that could
// not bind it (a rare "Address already in use" in CI: FreePort reserves
// the port for every test process, so the holder is something else).
func portHolders(ip string, port int) string {
	out, err := exec.Command("ss", "-Hanup", "sport", "= :"+strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		return ""
	}
	return fmt.Sprintf(" | sockets on %s port %d: %s", ip, port, strings.TrimSpace(string(out)))
}

// closedPort returns a port on ip where nothing listens (UDP and TCP).
func closedPort(t *testing.T, ip string) int { return sbcPort(t, ip) }

// waitDialogs polls until the server holds no SIP dialog (no leaked leg).
func waitNoDialogs(t *testing.T, s *server) {
	t.Helper()
	waitFor(t, 40*time.Second, 100*time.Millisecond, "no SIP dialogs left", func() (bool, string) {
		n := s.metric(t, "switchboard_sip_dialogs", nil)
		return n == 0, fmt.Sprintf("switchboard_sip_dialogs = %v", n)
	})
}

// writeFile writes b to name in a fresh temp dir and returns its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
