package robust

// Helpers for the load-bearing robustness tests (loss, crash, flood): a
// switchboard that can be restarted on the same ports and data dir, and a
// SIPp load run (many calls at a bounded rate) whose outcome is read from
// SIPp's statistics file.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
	return &server{Server: ts, log: &procLog{ts.Log}}
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

// loadOpts is one bounded SIPp load run.
type loadOpts struct {
	Name     string
	Scenario string // file in ../e2e/scenarios
	OOC      string // out-of-call scenario
	Remote   string
	LocalIP  string // -i; default 127.0.0.1
	CSV      []string
	Calls    int // -m
	Rate     int // -r calls per second
	Limit    int // -l concurrent calls
	PauseMS  int // -d
	AuthURI  string
	Keys     [][2]string
	RTPEcho  bool
	Lost     int // -lost percent
	Timeout  time.Duration
	Recv     time.Duration // -recv_timeout
}

// load is a running SIPp load.
type load struct {
	*sippProc
	stat string
}

func startLoad(t *testing.T, o loadOpts) *load {
	t.Helper()
	bin := needTool(t, "sip-tester", "sipp")
	if o.Calls <= 0 || o.Timeout <= 0 {
		t.Fatal("a load needs a call count and a timeout")
	}
	dir := filepath.Join(keptDir(t, t.TempDir()), o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ip := o.LocalIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	l := &load{sippProc: &sippProc{name: o.Name, dir: dir, done: make(chan struct{})},
		stat: filepath.Join(dir, "stat.csv")}
	args := []string{"-sf", scenario(t, o.Scenario)}
	if o.OOC != "" {
		args = append(args, "-oocsf", scenario(t, o.OOC))
	}
	args = append(args, "-i", ip, "-mi", ip, "-m", strconv.Itoa(o.Calls))
	if o.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(o.Rate), "-rp", "1000")
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	if o.PauseMS > 0 {
		args = append(args, "-d", strconv.Itoa(o.PauseMS))
	}
	if o.AuthURI != "" {
		args = append(args, "-auth_uri", o.AuthURI)
	}
	if len(o.CSV) > 0 {
		csv := filepath.Join(dir, "inject.csv")
		if err := os.WriteFile(csv, []byte("SEQUENTIAL\n"+strings.Join(o.CSV, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-inf", csv)
	}
	for _, kv := range o.Keys {
		args = append(args, "-key", kv[0], kv[1])
	}
	if o.RTPEcho {
		args = append(args, "-rtp_echo")
	}
	if o.Lost > 0 {
		// Under loss every failure needs its history: trace the messages
		// (and the ones SIPp dropped on purpose).
		args = append(args, "-lost", strconv.Itoa(o.Lost),
			"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	if o.Recv > 0 {
		args = append(args, "-recv_timeout", strconv.Itoa(int(o.Recv/time.Millisecond)))
	}
	args = append(args,
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout/time.Second)),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "log.log"),
		"-trace_stat", "-stf", l.stat, "-fd", "1",
		"-nostdin", o.Remote)
	out, err := newProcLog(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	l.out = out
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	l.cancel = cancel
	l.cmd = exec.CommandContext(ctx, bin, args...)
	l.cmd.Dir = dir
	l.cmd.Stdout, l.cmd.Stderr = out, out
	if err := l.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp %s: %v", o.Name, err)
	}
	go func() {
		l.err = l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(func() {
		l.stop(t)
		if t.Failed() {
			dumpLines(t, "sipp "+l.name+" errors", readLines(filepath.Join(dir, "errors.log")), 40)
			dumpLines(t, "sipp "+l.name+" stdout", l.out.snapshot(), 20)
		}
		l.out.close()
		l.cancel()
	})
	return l
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
	<-l.done
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
		Lost: lost, Timeout: timeout, Recv: 15 * time.Second,
	})
}

// failureSummary counts the reasons in SIPp's error file: which message a
// dead call was aborted at and what it received, or which receive timed
// out.
func (l *load) failureSummary() map[string]int {
	out := map[string]int{}
	for _, line := range readLines(filepath.Join(l.dir, "errors.log")) {
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
