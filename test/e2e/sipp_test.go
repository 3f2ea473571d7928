package e2e

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sippOpts describes one SIPp process. Every run is bounded: Calls (-m)
// and Timeout (-timeout with -timeout_error) are required.
type sippOpts struct {
	Name        string        // names the trace directory; defaults to the scenario
	Scenario    string        // file in scenarios/ (-sf)
	OOC         string        // out-of-call scenario in scenarios/ (-oocsf)
	Remote      string        // host:port to send to; empty for a pure UAS
	Port        int           // local SIP port (-p); 0 lets SIPp pick
	CSV         []string      // injection lines (-inf), read SEQUENTIAL
	Calls       int           // -m
	Limit       int           // -l, simultaneous calls
	Rate        int           // -r, calls per second
	PauseMS     int           // -d, length of <pause/> in ms
	AuthURI     string        // -auth_uri (digest uri is sip:<AuthURI>)
	Keys        [][2]string   // -key keyword value
	Sets        [][2]string   // -set variable value
	RTPEcho     bool          // -rtp_echo
	Timeout     time.Duration // -timeout, SIPp fails when reached
	RecvTimeout time.Duration // -recv_timeout, per expected message
	NoMsgTrace  bool          // skip -trace_msg (long load runs)
	IP          string        // local address (-i, -mi); default 127.0.0.1
	Transport   string        // -t (u1 default, t1 for TCP)
}

// sippProc is a running or finished SIPp process with its traces in dir.
type sippProc struct {
	name, dir string
	cmd       *exec.Cmd
	cancel    context.CancelFunc
	out       *procLog
	done      chan struct{}
	err       error // of cmd.Wait, valid once done is closed
}

// startSipp starts SIPp on 127.0.0.1. It is stopped, and its traces dumped
// if the test failed, when the test ends.
func startSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	bin := needSIPp(t)
	if o.Calls <= 0 || o.Timeout <= 0 {
		t.Fatal("sipp needs a bounded number of calls and a timeout")
	}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(o.Scenario), ".xml")
	}
	dir := filepath.Join(t.TempDir(), o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &sippProc{name: o.Name, dir: dir, done: make(chan struct{})}

	args := []string{"-sf", scenario(t, o.Scenario)}
	if o.OOC != "" {
		args = append(args, "-oocsf", scenario(t, o.OOC))
	}
	ip := o.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	args = append(args, "-i", ip, "-mi", ip, "-m", strconv.Itoa(o.Calls))
	if o.Transport != "" {
		args = append(args, "-t", o.Transport)
	}
	if o.Port != 0 {
		args = append(args, "-p", strconv.Itoa(o.Port))
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(o.Rate), "-rp", "1000")
	}
	if o.PauseMS > 0 {
		args = append(args, "-d", strconv.Itoa(o.PauseMS))
	}
	if o.AuthURI != "" {
		args = append(args, "-auth_uri", o.AuthURI)
	}
	if len(o.CSV) > 0 {
		csv := filepath.Join(dir, "inject.csv")
		body := "SEQUENTIAL\n" + strings.Join(o.CSV, "\n") + "\n"
		if err := os.WriteFile(csv, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-inf", csv)
	}
	for _, kv := range o.Keys {
		args = append(args, "-key", kv[0], kv[1])
	}
	for _, kv := range o.Sets {
		args = append(args, "-set", kv[0], kv[1])
	}
	if o.RTPEcho {
		args = append(args, "-rtp_echo")
	}
	args = append(args,
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout.Round(time.Second)/time.Second)), "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "log.log"),
		"-nostdin",
	)
	if o.RecvTimeout > 0 {
		args = append(args, "-recv_timeout", strconv.Itoa(int(o.RecvTimeout/time.Millisecond)))
	}
	if !o.NoMsgTrace {
		args = append(args, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	if o.Remote != "" {
		args = append(args, o.Remote)
	}

	out, err := newProcLog(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.out = out
	// Backstop in case SIPp's own -timeout does not fire.
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	p.cancel = cancel
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	out.mark("sipp " + strings.Join(args, " "))
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp %s: %v", o.Name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			p.dump(t)
		}
		p.out.close()
		p.cancel()
	})
	return p
}

// runSipp runs SIPp to completion (bounded by its -timeout).
func runSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	p := startSipp(t, o)
	<-p.done
	return p
}

func (p *sippProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exitCode is SIPp's exit status: 0 when every call succeeded, 1 when some
// failed, 255 on a fatal error, -1 while running or when killed.
func (p *sippProc) exitCode() int {
	if p.running() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// requireOK fails the test unless SIPp ended with every call successful.
func (p *sippProc) requireOK(t *testing.T) {
	t.Helper()
	<-p.done
	if code := p.exitCode(); code != 0 {
		t.Fatalf("sipp %s exited with %d (%v): %s%s", p.name, code, p.err, p.errorSummary(), p.hint())
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

// stop ends a running SIPp with SIGTERM (it prints its final statistics)
// and kills it if it does not exit.
func (p *sippProc) stop(t *testing.T) {
	t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("sipp %s ignored SIGTERM; killed", p.name)
	}
}

// logLines are the lines of the scenario's <log> actions (-trace_logs).
func (p *sippProc) logLines() []string { return readLines(filepath.Join(p.dir, "log.log")) }

// waitLog polls the -trace_logs file until a line contains s.
func (p *sippProc) waitLog(t *testing.T, s string, timeout time.Duration) string {
	t.Helper()
	var found string
	waitFor(t, timeout, 50*time.Millisecond, fmt.Sprintf("sipp %s to log %q", p.name, s), func() (bool, string) {
		for _, l := range p.logLines() {
			if strings.Contains(l, s) {
				found = l
				return true, ""
			}
		}
		if !p.running() {
			t.Fatalf("sipp %s exited with %d before logging %q: %s%s", p.name, p.exitCode(), s, p.errorSummary(), p.hint())
		}
		return false, "not yet"
	})
	return found
}

// errorSummary is the interesting part of SIPp's error log.
func (p *sippProc) errorSummary() string {
	lines := readLines(filepath.Join(p.dir, "errors.log"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, " | ")
}

var echoPackets = regexp.MustCompile(`(\d+) Total echo RTP pckts 1st stream`)

// echoedPackets is how many RTP packets -rtp_echo sent back, from SIPp's
// final statistics (printed when it exits).
func (p *sippProc) echoedPackets(t *testing.T) int {
	t.Helper()
	<-p.done
	n := -1
	for _, l := range p.out.snapshot() {
		if m := echoPackets.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	if n < 0 {
		t.Fatalf("sipp %s printed no RTP echo statistics", p.name)
	}
	return n
}

func (p *sippProc) dump(t *testing.T) {
	t.Helper()
	t.Logf("sipp %s: exit %d, traces in %s", p.name, p.exitCode(), p.dir)
	dumpFile(t, "sipp "+p.name, filepath.Join(p.dir, "errors.log"), 60)
	dumpFile(t, "sipp "+p.name, filepath.Join(p.dir, "log.log"), 40)
	dumpFile(t, "sipp "+p.name, filepath.Join(p.dir, "messages.log"), 200)
	dumpLines(t, "sipp "+p.name+" stdout", p.out.snapshot(), 60)
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
