package e2e

// Calling Plan, numbers and inbound (issue 5 acceptance): a tenant acquires
// numbers from the operator's inventory and assigns one to alice; a call
// from a carrier to it rings alice's phone, calls to numbers assigned to no
// one get 404.

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cpNumber is a number as `switchboard numbers ... -o json` prints it.
type cpNumber struct {
	Number, Status, Tenant, User string
}

func cpNumbers(t *testing.T, s *server, args ...string) []cpNumber {
	t.Helper()
	out, err := s.cli(t, append(append([]string{"numbers"}, args...), "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var ns []cpNumber
	if err := json.Unmarshal(out, &ns); err != nil {
		var one cpNumber
		if json.Unmarshal(out, &one) != nil {
			t.Fatalf("numbers %v: %v\n%s", args, err, out)
		}
		ns = []cpNumber{one}
	}
	return ns
}

// carrierCall runs a call from carrier-a's address to called, expecting
// the final status expect.
func carrierCall(t *testing.T, s *server, called string, expect int) *sippProc {
	t.Helper()
	host, _, _ := net.SplitHostPort(s.SIP)
	p := runSipp(t, sippOpts{Name: "carrier-call-" + strings.TrimPrefix(called, "+") + "-" + strconv.Itoa(expect),
		Scenario: "cp_carrier_invite.xml", Remote: s.SIP, IP: cpCarrierAIP,
		CSV: []string{strings.Join([]string{called, host, "+12065550123"}, ";")}, Calls: 1, PauseMS: 500,
		Sets: [][2]string{{"expect", strconv.Itoa(expect)}}, Timeout: 30 * time.Second, RecvTimeout: 15 * time.Second})
	p.requireOK(t)
	return p
}

func TestCPInbound(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	r := startCP(t, "cp_carrier.xml", "cp_carrier.xml", cpTenant("", ""))

	found := cpNumbers(t, r.s, "search", "--country", "US", "--area-code", "425", "--limit", "2")
	if len(found) != 2 || found[0].Number != "+14255550000" || found[0].Status != "available" {
		t.Fatalf("search = %+v", found)
	}
	got := cpNumbers(t, r.s, "acquire", "--tenant", "contoso", "+14255550100", "+14255550101")
	if len(got) != 2 || got[0].Tenant != "contoso" || got[0].Status != "acquired" {
		t.Fatalf("acquire = %+v", got)
	}
	if _, err := r.s.cli(t, "numbers", "acquire", "--tenant", "fabrikam", "+14255550100"); err == nil {
		t.Error("a number was acquired twice")
	}
	got = cpNumbers(t, r.s, "assign", "--tenant", "contoso", "--user", "alice@contoso.com", "+14255550100")
	if len(got) != 1 || got[0].User != "alice@contoso.com" || got[0].Status != "assigned" {
		t.Fatalf("assign = %+v", got)
	}
	out, err := r.s.cli(t, "get", "users", "--tenant", "contoso", "-o", "json")
	if err != nil || !strings.Contains(string(out), `+14255550100`) || !strings.Contains(string(out), `CallingPlan`) {
		t.Errorf("alice's lineUri and numberType after assign: %s %v", out, err)
	}

	phone := startSipp(t, sippOpts{
		Name: "phone-alice", Scenario: "register.xml", OOC: "cp_phone.xml", Remote: r.s.SIP,
		CSV: []string{registerLine("alice", domain, alicePassword)}, Calls: 1, PauseMS: 120000, AuthURI: domain,
		RTPEcho: true, Timeout: 150 * time.Second, RecvTimeout: 10 * time.Second,
	})
	phone.waitLog(t, "registered alice@contoso.com", 20*time.Second)

	carrierCall(t, r.s, "+14255550100", 200)
	if inv := cpInvites(phone); len(inv) != 1 || !strings.Contains(inv[0], "+12065550123") {
		t.Fatalf("alice's phone got %q, want the carrier's call from +12065550123", inv)
	}
	if c := cpWaitCDR(t, r.s, "alice@contoso.com"); c.Result != "answered" || c.Via != "" {
		t.Errorf("inbound CDR = %+v", c)
	}

	carrierCall(t, r.s, "+14255550101", 404) // acquired, assigned to no one
	carrierCall(t, r.s, "+14255550999", 404) // in the inventory, free
	carrierCall(t, r.s, "+33612345678", 404) // not a number of the operator

	rel := cpNumbers(t, r.s, "release", "--tenant", "contoso", "+14255550100")
	if len(rel) != 1 || rel[0].Status != "quarantined" {
		t.Fatalf("release = %+v", rel)
	}
	carrierCall(t, r.s, "+14255550100", 404)
	if inv := cpInvites(phone); len(inv) != 1 {
		t.Errorf("alice's phone got %d calls, want only the first", len(inv))
	}
	if found := cpNumbers(t, r.s, "search", "--country", "US", "--area-code", "425", "--limit", "1000"); len(found) != 998 {
		t.Errorf("%d numbers available, want 998 (2 acquired or quarantined)", len(found))
	}
	if ns := cpNumbers(t, r.s, "list", "--tenant", "contoso"); len(ns) != 1 || ns[0].Number != "+14255550101" {
		t.Errorf("contoso's numbers after the release = %+v", ns)
	}
}
