package robust

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBruteForceBan runs sipvicious' svcrack against a user. A control
// run on bob, whose password is third in its dictionary, shows svcrack can
// crack a weak account here. Against alice, whose password is ninth, the
// server bans the source after five failed challenges (default: 5 per
// source and user in 60 s, ban 300 s): svcrack finds nothing, the source
// gets no answer at all any more, the ban is logged once in the stable
// format, and bob still registers from another address.
func TestBruteForceBan(t *testing.T) {
	svcrack := needTool(t, "sipvicious", "svcrack", "sipvicious_svcrack")
	needTool(t, "sip-tester", "sipp")
	s := startServer(t, "")
	s.apply(t, contosoDoc)
	_, port, _ := strings.Cut(s.SIP, ":")
	crack := func(user string, passwords ...string) string {
		t.Helper()
		dict := filepath.Join(t.TempDir(), "dict-"+user+".txt")
		if err := os.WriteFile(dict, []byte(strings.Join(passwords, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return runSipvicious(t, svcrack, []string{"-u", user, "-d", dict, "--domain", domain, "-p", port,
			"-b", "127.0.0.1", "-x", "127.0.0.1", "-P", strconv.Itoa(freePort(t)), "--maximumtime", "5", "-v", "127.0.0.1"})
	}

	if out := crack("bob", "123456", "password", bobPassword, "letmein"); !strings.Contains(out, "The password for bob is "+bobPassword) {
		t.Fatalf("control: svcrack did not crack bob's password, third in its dictionary; the ban test would prove nothing")
	}
	if n := len(s.Log.Grep("event=ban", false)); n != 0 {
		t.Fatalf("control run caused %d bans", n)
	}

	guesses := []string{"123456", "password", "alice", "qwerty", "alice123", "contoso", "welcome1", "Passw0rd", alicePassword, "zzz"}
	out := crack("alice", guesses...)
	if strings.Contains(out, "The password for alice") {
		t.Fatalf("svcrack cracked alice's password despite the ban")
	}
	bans := s.Log.Grep("event=ban", false)
	if len(bans) != 1 {
		t.Fatalf("%d ban events, want 1: %v", len(bans), bans)
	}
	for _, want := range []string{`msg="security event"`, "source=127.0.0.1 ", "user=alice@" + domain, "brute-force", "ban_seconds=300"} {
		if !strings.Contains(bans[0], want) {
			t.Errorf("ban event %q lacks %q", bans[0], want)
		}
	}
	if fails := s.Log.Grep("event=auth-failed", false); len(fails) < 5 {
		t.Errorf("%d auth-failed events, want at least 5", len(fails))
	}
	// The shipped fail2ban filter reads the server's real lines.
	fail, ignore := fail2banFilter(t)
	counted := 0
	for _, l := range s.Log.Snapshot() {
		if h := fail2banHost(fail, ignore, l); h != "" {
			if h != "127.0.0.1" {
				t.Errorf("fail2ban filter took host %q from %s", h, l)
			}
			counted++
		}
	}
	if counted < 6 {
		t.Errorf("fail2ban filter counts %d of the server's lines, want the 5+ failures and the ban", counted)
	}

	// The banned source is silently dropped, over UDP and TCP.
	if ex := udpExchange(t, s.SIP, optionsRequest("UDP", s.SIP), 2*time.Second); len(ex.responses) > 0 {
		t.Errorf("banned source got %s to an OPTIONS over UDP", describe(ex))
	}
	if ex := tcpExchange(t, s.SIP, optionsRequest("TCP", s.SIP), 2*time.Second, 1); len(ex.responses) > 0 {
		t.Errorf("banned source got %s to an OPTIONS over TCP", describe(ex))
	}

	// bob, from another address, still registers.
	p := startSipp(t, sippOpts{
		Name: "bob-elsewhere", Scenario: "register.xml", Remote: s.SIP, IP: "127.0.0.2",
		CSV:     []string{strings.Join([]string{"bob", domain, authField("bob", bobPassword)}, ";")},
		AuthURI: domain, Timeout: 20 * time.Second,
	})
	p.waitLog(t, "registered bob@"+domain, 15*time.Second)
	s.requireRunning(t)
}
