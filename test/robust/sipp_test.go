package robust

// The SIPp driver is testkit's, shared with test/e2e: every run is bounded
// by -m and -timeout, traces go to the test's temp dir, the process is
// stopped when the test ends. Scenarios are test/e2e's own files.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// sippOpts is one SIPp run (testkit.SippOpts); Calls defaults to 1.
type sippOpts = testkit.SippOpts

// sippProc is a running or finished SIPp process with its traces in dir.
type sippProc struct{ *testkit.Sipp }

// scenarioDir holds the scenarios, test/e2e's own files.
const scenarioDir = "../e2e/scenarios"

func startSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	if o.Calls == 0 {
		o.Calls = 1
	}
	o.ScenarioDir = scenarioDir
	p := testkit.StartSipp(t, needTool(t, "sip-tester", "sipp"), o)
	return &sippProc{p}
}

func (p *sippProc) running() bool { return p.Running() }

func (p *sippProc) requireOK(t *testing.T) {
	t.Helper()
	if code := p.Wait(); code != 0 {
		t.Fatalf("sipp %s failed (exit %d, %v): %s", p.Name, code, p.Err(), strings.Join(p.ErrorLines(), " | "))
	}
}

func (p *sippProc) stop(t *testing.T) { t.Helper(); p.Stop(t) }

// waitLog polls the -trace_logs file until a line contains s.
func (p *sippProc) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 50*time.Millisecond, "sipp "+p.Name+" to log "+s, func() (bool, string) {
		for _, l := range readLines(filepath.Join(p.Dir, "log.log")) {
			if strings.Contains(l, s) {
				return true, ""
			}
		}
		if !p.running() {
			t.Fatalf("sipp %s exited before logging %q", p.Name, s)
		}
		return false, "not yet"
	})
}

// traced is one message of SIPp's -trace_msg file.
type traced struct {
	sent bool
	text string
}

// messages parses SIPp's message trace: blocks introduced by a dashed line
// and a "... message sent/received ..." line.
func (p *sippProc) messages() []traced {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "messages.log"))
	var out []traced
	for _, block := range strings.Split(string(b), "\n----------------------------------------------- ") {
		_, rest, ok := strings.Cut(block, "\n")
		if !ok {
			continue
		}
		head, body, ok := strings.Cut(rest, "\n")
		if !ok {
			continue
		}
		switch {
		case strings.Contains(head, "message sent"):
			out = append(out, traced{sent: true, text: strings.TrimLeft(body, "\r\n")})
		case strings.Contains(head, "message received"):
			out = append(out, traced{sent: false, text: strings.TrimLeft(body, "\r\n")})
		}
	}
	return out
}

// find returns the messages sent (or received) whose start line begins
// with prefix.
func find(ms []traced, sent bool, prefix string) []string {
	var out []string
	for _, m := range ms {
		if m.sent == sent && strings.HasPrefix(m.text, prefix) {
			out = append(out, m.text)
		}
	}
	return out
}

func readLines(path string) []string { return testkit.ReadLines(path) }

// silencePCMU writes d of PCMU silence for SIPp's rtp_stream (outside
// t.TempDir, whose name may hold commas SIPp would split on).
func silencePCMU(t *testing.T, d time.Duration) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "robust-rtp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := filepath.Join(dir, "silence.pcmu")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xFF}, int(d.Seconds()*8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func authField(user, password string) string {
	return fmt.Sprintf("[authentication username=%s password=%s]", user, password)
}
