package robust

// Helpers for the load-bearing robustness tests (loss, crash, flood): a
// switchboard that can be restarted on the same ports and data dir, and a
// SIPp load run (many calls at a bounded rate) whose outcome is read from
// SIPp's statistics file.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// prepareServer allocates ports, a data dir and a log for a switchboard
// that launch starts (and may start again after a crash). The running
// process is stopped when the test ends.
func prepareServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	// 2000 ports: 1000 pairs; at 25 calls/s, 2 pairs a call, each pair
	// quarantined 10 s after release.
	ts := testkit.NewServer(t, needServer(t), testkit.ServerOptions{Dir: dir, LogDir: keptDir(t, dir),
		RTPPorts: 2000, FailOn: failOn})
	return &server{ts}
}

// launch starts the prepared server with extra serve flags and waits for
// /healthz.
func (s *server) launch(t *testing.T, extra ...string) { t.Helper(); s.Start(t, extra...) }

// crash kills the server with SIGKILL and waits for it to be gone.
func (s *server) crash(t *testing.T) { t.Helper(); s.Kill(t) }

// waitIdle polls /metrics until no dialog and no media port is left.
func (s *server) waitIdle(t *testing.T, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 200*time.Millisecond, "no dialog and no media port in use", func() (bool, string) {
		d := s.metric(t, "switchboard_sip_dialogs")
		p := s.metric(t, "switchboard_media_ports_in_use")
		return d == 0 && p == 0, fmt.Sprintf("switchboard_sip_dialogs=%v switchboard_media_ports_in_use=%v", d, p)
	})
}

// robustCDR is the part of a CDR (`switchboard cdr -o json`) these tests
// check.
type robustCDR struct {
	CallID string `json:"callId"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Result string `json:"result"`
}

func (s *server) cdrs(t *testing.T, limit int) []robustCDR {
	t.Helper()
	out, err := s.cli(t, "cdr", "--limit", strconv.Itoa(limit), "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var cs []robustCDR
	if err := json.Unmarshal(out, &cs); err != nil {
		t.Fatalf("switchboard cdr -o json does not parse: %v\n%.2000s", err, out)
	}
	return cs
}

// loadOpts is one bounded SIPp load run (kept under SWITCHBOARD_ROBUST_KEEP,
// statistics in stat.csv, no message trace unless Lost).
type loadOpts = testkit.SippOpts

// load is a running SIPp load.
type load struct {
	*sippProc
	stat string
}

func startLoad(t *testing.T, o loadOpts) *load {
	t.Helper()
	o.Dir, o.Stats, o.NoMsgTrace, o.TimeoutEnds = keptDir(t, t.TempDir()), true, true, true
	p := startSipp(t, o)
	return &load{sippProc: p, stat: filepath.Join(p.Dir, "stat.csv")}
}

// keptDir is where a test's server log and SIPp traces go: dir, or with
// SWITCHBOARD_ROBUST_KEEP=DIR a directory under DIR named after the test, so
// they outlive the run for a post-mortem.
func keptDir(t *testing.T, dir string) string {
	t.Helper()
	keep := os.Getenv("SWITCHBOARD_ROBUST_KEEP")
	if keep == "" {
		return dir
	}
	d := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("server log and SIPp traces kept in %s", d)
	return d
}

// counts reads the cumulative successful and failed call counts from the
// last line of SIPp's statistics file.
func (l *load) counts(t *testing.T) (ok, failed int) {
	t.Helper()
	lines := readLines(l.stat)
	if len(lines) < 2 {
		return 0, 0
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				n, err := strconv.Atoi(strings.TrimSpace(last[i]))
				if err != nil {
					t.Fatalf("sipp stat %s = %q: %v", name, last[i], err)
				}
				return n
			}
		}
		t.Fatalf("sipp stat file has no column %s", name)
		return 0
	}
	return col("SuccessfulCall(C)"), col("FailedCall(C)")
}

// wait waits for the load to end (bounded by its own -timeout) and returns
// its counts.
func (l *load) wait(t *testing.T) (ok, failed int) {
	t.Helper()
	l.Wait()
	return l.counts(t)
}

// calleeBob registers bob from a SIPp that answers the server's INVITEs
// with uas.xml for life; lost is its -lost percentage.
func calleeBob(t *testing.T, s *server, lost int, life time.Duration) *load {
	t.Helper()
	l := startLoad(t, loadOpts{
		Name: "callee-bob", Scenario: "register.xml", OOC: "uas.xml", Remote: s.SIP,
		CSV: []string{strings.Join([]string{"bob", domain, authField("bob", bobPassword)}, ";")}, Calls: 1,
		PauseMS: int(life / time.Millisecond), AuthURI: domain, RTPEcho: true, Lost: lost,
		Timeout: life + 30*time.Second,
	})
	l.waitLog(t, "registered bob@contoso.com", 30*time.Second)
	return l
}

// aliceCalls is a caller load: alice calls bob (1002) calls times.
func aliceCalls(t *testing.T, s *server, name string, calls, rate, lost int, timeout time.Duration) *load {
	t.Helper()
	return startLoad(t, loadOpts{
		Name: name, Scenario: "uac.xml", Remote: s.SIP,
		CSV:   []string{strings.Join([]string{"alice", domain, authField("alice", alicePassword), "1002"}, ";")},
		Calls: calls, Rate: rate, Limit: 50, PauseMS: 200, AuthURI: "1002@" + domain,
		Keys: [][2]string{{"rtp_stream", silencePCMU(t, 100*time.Millisecond) + ",1,0"}},
		Lost: lost, Timeout: timeout, RecvTimeout: 15 * time.Second,
	})
}

// failureSummary counts the reasons in SIPp's error file: which message a
// dead call was aborted at and what it received, or which receive timed
// out.
func (l *load) failureSummary() map[string]int {
	out := map[string]int{}
	for _, line := range readLines(filepath.Join(l.Dir, "errors.log")) {
		if i := strings.Index(line, "receive timeout on message "); i >= 0 {
			out[strings.Fields(line[i:])[4]+" timeout"]++
		}
		if i := strings.Index(line, "Dead call "); i >= 0 {
			rest := line[i:]
			if j := strings.Index(rest, "(aborted at index "); j >= 0 {
				f := strings.Fields(rest[j:])
				if len(f) >= 6 {
					out["aborted at "+strings.TrimSuffix(f[3], "),")+" on "+strings.Trim(f[5], "'")+" "+f[6]]++
				}
			}
		}
		if strings.Contains(line, "Aborting call on unexpected message") {
			out["unexpected message"]++
		}
	}
	return out
}
