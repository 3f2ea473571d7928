package robust

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTopologyHiding makes a call between two SIPp users through the
// B2BUA and checks that neither leg sees the other's identifiers: the
// INVITE the callee receives carries none of the caller's Call-ID, Via,
// From tag, Contact, User-Agent or credentials, and the 200 OK the caller
// receives none of the callee's To tag, Contact or Call-ID. The server
// runs at debug level, and its log must hold no password, HA1 or admin
// token.
func TestTopologyHiding(t *testing.T) {
	s := startServer(t, "debug")
	s.apply(t, contosoDoc)

	calleePort := freePort(t)
	callee := startSipp(t, sippOpts{
		Name: "callee-bob", Scenario: "register.xml", OOC: "uas.xml", Remote: s.SIP, Port: calleePort,
		CSV:     []string{strings.Join([]string{"bob", domain, authField("bob", bobPassword)}, ";")},
		PauseMS: 60000, AuthURI: domain, RTPEcho: true, Timeout: 90 * time.Second,
	})
	callee.waitLog(t, "registered bob@"+domain, 20*time.Second)

	callerPort := freePort(t)
	caller := startSipp(t, sippOpts{
		Name: "caller-alice", Scenario: "uac.xml", Remote: s.SIP, Port: callerPort,
		CSV:     []string{strings.Join([]string{"alice", domain, authField("alice", alicePassword), "1002"}, ";")},
		PauseMS: 1000, AuthURI: "1002@" + domain, Timeout: 30 * time.Second,
		Keys: [][2]string{{"rtp_stream", silencePCMU(t, time.Second) + ",1,0"}},
	})
	caller.requireOK(t)
	callee.stop(t)

	callerMsgs, calleeMsgs := caller.messages(), callee.messages()
	sentInvites := find(callerMsgs, true, "INVITE ")
	gotInvites := find(calleeMsgs, false, "INVITE ")
	callerOK := find(callerMsgs, false, "SIP/2.0 200")
	calleeOK := find(calleeMsgs, true, "SIP/2.0 200")
	if len(sentInvites) == 0 || len(gotInvites) == 0 || len(callerOK) == 0 || len(calleeOK) == 0 {
		t.Fatalf("traces incomplete: caller sent %d INVITEs and got %d 200s, callee got %d INVITEs and sent %d 200s",
			len(sentInvites), len(callerOK), len(gotInvites), len(calleeOK))
	}
	aLeg := sentInvites[len(sentInvites)-1] // the one with credentials
	bLeg := gotInvites[0]
	t.Logf("caller's INVITE:\n%s\ncallee's INVITE:\n%s", aLeg, bLeg)

	// What identifies the caller and must not reach the callee.
	callerSecrets := map[string]string{
		"Call-ID":    headerValue(aLeg, "Call-ID"),
		"Via branch": param(headerValue(aLeg, "Via"), "branch"),
		"From tag":   param(headerValue(aLeg, "From"), "tag"),
		"Contact":    strings.Trim(headerValue(aLeg, "Contact"), "<>"),
		"User-Agent": headerValue(aLeg, "User-Agent"),
		"source":     "127.0.0.1:" + itoa(callerPort),
		"digest":     param(headerValue(aLeg, "Proxy-Authorization"), "response"),
	}
	for what, v := range callerSecrets {
		if v == "" {
			t.Errorf("caller's INVITE has no %s to check", what)
			continue
		}
		if strings.Contains(bLeg, v) {
			t.Errorf("callee-side INVITE carries the caller's %s %q", what, v)
		}
	}
	for _, h := range []string{"Proxy-Authorization", "Authorization", "Record-Route", "Route"} {
		if headerValue(bLeg, h) != "" {
			t.Errorf("callee-side INVITE carries a %s header", h)
		}
	}
	if ua := headerValue(bLeg, "User-Agent"); ua != "" && strings.Contains(ua, "SIPp") {
		t.Errorf("callee-side INVITE has the caller's User-Agent %q", ua)
	}
	if via := headerValue(bLeg, "Via"); strings.Count(bLeg, "\nVia:")+strings.Count(bLeg, "\nv:") != 1 {
		t.Errorf("callee-side INVITE has more than our one Via (%s)", via)
	}

	// The SDP origin: the relay rewrites its address and replaces the
	// caller's o= user name (often the phone's make: o=Polycom) with "-";
	// the numeric session id and version pass through so that re-offers
	// stay consistent.
	t.Run("sdp origin", func(t *testing.T) {
		a, b := sdpOrigin(aLeg), sdpOrigin(bLeg)
		if len(a) < 2 || len(b) < 2 {
			t.Fatalf("no o= line: caller %q, callee %q", a, b)
		}
		if b[0] != "-" {
			t.Errorf("callee sees o= user %q, want -", b[0])
		}
	})

	// What identifies the callee and must not reach the caller.
	ok := calleeOK[0]
	calleeSecrets := map[string]string{
		"To tag":  param(headerValue(ok, "To"), "tag"),
		"Contact": strings.Trim(headerValue(ok, "Contact"), "<>"),
		"Call-ID": headerValue(ok, "Call-ID"),
		"source":  "127.0.0.1:" + itoa(calleePort),
	}
	for _, res := range callerOK {
		for what, v := range calleeSecrets {
			if v != "" && strings.Contains(res, v) {
				t.Errorf("caller-side 200 OK carries the callee's %s %q:\n%s", what, v, res)
			}
		}
	}
	for _, m := range callerMsgs {
		if !m.sent && strings.Contains(m.text, "127.0.0.1:"+itoa(calleePort)) {
			t.Errorf("the caller received a message naming the callee's address:\n%s", m.text)
		}
	}
	for _, m := range calleeMsgs {
		if !m.sent && strings.Contains(m.text, "127.0.0.1:"+itoa(callerPort)) {
			t.Errorf("the callee received a message naming the caller's address:\n%s", m.text)
		}
	}

	// No secret in the debug log.
	s.stop(t)
	secrets := map[string]string{"admin token": s.Token}
	for _, u := range []struct{ name, pw string }{{"alice", alicePassword}, {"bob", bobPassword}} {
		secrets[u.name+" password"] = u.pw
		md := md5.Sum([]byte(u.name + ":" + domain + ":" + u.pw))
		sh := sha256.Sum256([]byte(u.name + ":" + domain + ":" + u.pw))
		secrets[u.name+" HA1 MD5"] = hex.EncodeToString(md[:])
		secrets[u.name+" HA1 SHA-256"] = hex.EncodeToString(sh[:])
	}
	lines := s.Log.Snapshot()
	debug := 0
	for _, l := range lines {
		if strings.Contains(l, "level=DEBUG") {
			debug++
		}
	}
	if debug == 0 {
		t.Error("the server logged nothing at debug level: the check below would prove little")
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "----- ") {
			continue // the test's own marks
		}
		for what, v := range secrets {
			if strings.Contains(strings.ToLower(l), strings.ToLower(v)) {
				t.Errorf("server log line holds the %s: %s", what, l)
			}
		}
	}
	t.Logf("%d log lines (%d at debug) checked for %d secrets", len(lines), debug, len(secrets))
}

// headerValue returns the first value of header name (or its compact
// form) in a traced message.
func headerValue(msg, name string) string {
	compact := map[string]string{"call-id": "i", "via": "v", "from": "f", "to": "t", "contact": "m"}[strings.ToLower(name)]
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimRight(line, "\r")
		n, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n = strings.TrimSpace(n)
		if strings.EqualFold(n, name) || (compact != "" && strings.EqualFold(n, compact)) {
			return strings.TrimSpace(v)
		}
		if line == "" {
			break
		}
	}
	return ""
}

// sdpOrigin returns the fields of a message body's o= line.
func sdpOrigin(msg string) []string {
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(line, "o=") {
			return strings.Fields(strings.TrimRight(line[2:], "\r"))
		}
	}
	return nil
}

// param returns a ;name=value or name="value" parameter of a header value.
func param(v, name string) string {
	re := regexp.MustCompile(`(?i)[;,\s]` + regexp.QuoteMeta(name) + `="?([^";,\s>]+)`)
	if m := re.FindStringSubmatch(" " + v); m != nil {
		return m[1]
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
