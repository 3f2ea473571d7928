package e2e

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// sippOpts describes one SIPp process (testkit.SippOpts). Every run is
// bounded: Calls (-m) and Timeout (-timeout with -timeout_error) are
// required.
type sippOpts = testkit.SippOpts

// sippProc is a running or finished SIPp process with its traces in dir.
type sippProc struct{ *testkit.Sipp }

// startSipp starts SIPp with a scenario of scenarios/. It is stopped, and
// its traces dumped if the test failed, when the test ends.
func startSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	p := testkit.StartSipp(t, needSIPp(t), o)
	return &sippProc{p}
}

// runSipp runs SIPp to completion (bounded by its -timeout).
func runSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	p := startSipp(t, o)
	p.Wait()
	return p
}

func (p *sippProc) running() bool { return p.Running() }

func (p *sippProc) exitCode() int { return p.ExitCode() }

// requireOK fails the test unless SIPp ended with every call successful.
func (p *sippProc) requireOK(t *testing.T) {
	t.Helper()
	if code := p.Wait(); code != 0 {
		t.Fatalf("sipp %s exited with %d (%v): %s%s", p.Name, code, p.Err(), p.errorSummary(), p.hint())
	}
}

// hint explains SIPp failures with a known cause.
func (p *sippProc) hint() string {
	if strings.Contains(p.errorSummary(), "authentication must use MD5") {
		return "\nhint: SIPp before 3.7.3 answers only the first challenge header and only MD5; " +
			"the server must put the MD5 challenge first (see TestSIPpDigestChallengeOrder)"
	}
	return ""
}

func (p *sippProc) stop(t *testing.T) { t.Helper(); p.Stop(t) }

func (p *sippProc) logLines() []string { return p.LogLines() }

func (p *sippProc) errorSummary() string { return p.ErrorSummary() }

func (p *sippProc) dump(t *testing.T) { t.Helper(); p.Dump(t) }

// waitLog polls the -trace_logs file until a line contains s.
func (p *sippProc) waitLog(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	var found string
	waitFor(t, timeout, 50*time.Millisecond, fmt.Sprintf("sipp %s to log %q", p.Name, s), func() (bool, string) {
		for _, l := range p.logLines() {
			if strings.Contains(l, s) {
				found = l
				return true, ""
			}
		}
		if !p.running() {
			t.Fatalf("sipp %s exited with %d before logging %q: %s%s", p.Name, p.exitCode(), s, p.errorSummary(), p.hint())
		}
		return false, "not yet"
	})
	return found
}

var echoPackets = regexp.MustCompile(`(\d+) Total echo RTP pckts 1st stream`)

// echoedPackets is how many RTP packets -rtp_echo sent back, from SIPp's
// final statistics (printed when it exits).
func (p *sippProc) echoedPackets(t *testing.T) int {
	t.Helper()
	p.Wait()
	n := -1
	for _, l := range p.Out.Snapshot() {
		if m := echoPackets.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	if n < 0 {
		t.Fatalf("sipp %s printed no RTP echo statistics", p.Name)
	}
	return n
}

// ------------------------------------------------------------ credentials

// authField is an injection field holding SIPp's [authentication] keyword;
// SIPp 3.6 cannot expand [fieldN] inside it, so the whole keyword is
// injected.
func authField(user, password string) string {
	return fmt.Sprintf("[authentication username=%s password=%s]", user, password)
}

// registerLine is a register.xml injection line: user;domain;auth.
func registerLine(user, domain, password string) string {
	return strings.Join([]string{user, domain, authField(user, password)}, ";")
}

// callerLine is a uac*.xml injection line: user;domain;auth;target.
func callerLine(user, domain, password, target string) string {
	return strings.Join([]string{user, domain, authField(user, password), target}, ";")
}

// --------------------------------------------------------- digest checks

// digestParams parses the parameters of a Digest credentials or challenge
// header value.
func digestParams(v string) map[string]string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ' '); i > 0 && strings.EqualFold(v[:i], "Digest") {
		v = v[i+1:]
	}
	out := map[string]string{}
	for len(v) > 0 {
		v = strings.TrimLeft(v, " ,")
		eq := strings.IndexByte(v, '=')
		if eq <= 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(v[:eq]))
		v = v[eq+1:]
		var val string
		if strings.HasPrefix(v, `"`) {
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				val, v = v[1:], ""
			} else {
				val, v = v[1:end+1], v[end+2:]
			}
		} else {
			end := strings.IndexByte(v, ',')
			if end < 0 {
				val, v = v, ""
			} else {
				val, v = v[:end], v[end:]
			}
		}
		out[key] = strings.TrimSpace(val)
	}
	return out
}

// checkDigest verifies digest credentials (RFC 7616 / RFC 8760, qop=auth
// or none) independently of SIPp and of the server.
func checkDigest(t *testing.T, header, method, wantURI, password string) map[string]string {
	t.Helper()
	p := digestParams(header)
	if p["uri"] != wantURI {
		t.Errorf("digest uri = %q, want %q (the Request-URI)", p["uri"], wantURI)
	}
	var h func() hash.Hash
	switch strings.ToUpper(p["algorithm"]) {
	case "", "MD5":
		h = md5.New
	case "SHA-256":
		h = sha256.New
	default:
		t.Fatalf("unsupported digest algorithm %q", p["algorithm"])
	}
	sum := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := sum(p["username"] + ":" + p["realm"] + ":" + password)
	ha2 := sum(method + ":" + p["uri"])
	want := sum(ha1 + ":" + p["nonce"] + ":" + ha2)
	if p["qop"] != "" {
		want = sum(strings.Join([]string{ha1, p["nonce"], p["nc"], p["cnonce"], p["qop"], ha2}, ":"))
	}
	if p["response"] != want {
		t.Errorf("digest response = %q, want %q for %v", p["response"], want, p)
	}
	return p
}
