package robust

// The suite's short names for internal/testkit (shared with test/e2e):
// polling, free ports, a switchboard process with its log, the admin CLI
// and /metrics.

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// The shared helpers live in internal/testkit; these names keep the
// suite's code short.

func waitFor(t *testing.T, timeout, interval time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	testkit.WaitFor(t, timeout, interval, what, cond)
}

func freePort(t *testing.T) int { t.Helper(); return testkit.FreePort(t) }

func freeUDPRange(t *testing.T, n int) string { t.Helper(); return testkit.FreeUDPRange(t, n) }

// procLog collects a child process's output (testkit.ProcLog).
type procLog struct{ *testkit.ProcLog }

func newProcLog(path string) (*procLog, error) {
	l, err := testkit.NewProcLog(path)
	if err != nil {
		return nil, err
	}
	return &procLog{l}, nil
}

func (l *procLog) mark(s string)                     { l.Mark(s) }
func (l *procLog) snapshot() []string                { return l.Snapshot() }
func (l *procLog) contains(s string) bool            { return l.Contains(s) }
func (l *procLog) grep(s string, fold bool) []string { return l.Grep(s, fold) }
func (l *procLog) close()                            { l.Close() }

func dumpLines(t *testing.T, header string, lines []string, max int) {
	t.Helper()
	testkit.DumpLines(t, header, lines, max)
}

func dumpFile(t *testing.T, header, path string, max int) {
	t.Helper()
	testkit.DumpFile(t, header, path, max)
}

// server is one switchboard process under test (testkit.Server).
type server struct{ *testkit.Server }

// failOn are the log lines that fail a robustness test besides a race.
var failOn = []string{"panic", "fatal error:"}

// startServer starts a switchboard on fresh 127.0.0.1 ports with a fresh
// data dir and waits for /healthz. logLevel may be empty (info). It is
// stopped when the test ends, and the test fails if its log shows a panic
// or a data race.
func startServer(t *testing.T, logLevel string) *server {
	t.Helper()
	return startServerConfig(t, logLevel, "")
}

// startServerConfig is startServer with a bootstrap config file holding
// yaml (none when empty); flags set by the harness override it.
func startServerConfig(t *testing.T, logLevel, yaml string) *server {
	t.Helper()
	dir := t.TempDir()
	ts := testkit.NewServer(t, needServer(t), testkit.ServerOptions{Dir: dir, RTPPorts: 400, FailOn: failOn})
	s := &server{ts}
	var args []string
	if yaml != "" {
		cfg := filepath.Join(dir, "switchboard.yaml")
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", cfg)
	}
	if logLevel != "" {
		args = append(args, "--log-level", logLevel)
	}
	s.Start(t, args...)
	return s
}

func (s *server) running() bool { return s.Running() }

// requireRunning fails the test now if the process has exited.
func (s *server) requireRunning(t *testing.T) {
	t.Helper()
	if !s.Running() {
		t.Fatalf("switchboard exited: %v", s.Err())
	}
}

// stop sends SIGTERM and waits for a clean exit; after a grace period it
// kills the process and fails the test.
func (s *server) stop(t *testing.T) { t.Helper(); s.Stop(t) }

func (s *server) url() string { return s.URL() }

// cli runs a switchboard client subcommand against the server.
func (s *server) cli(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return s.CLI(t, args...)
}

// apply applies a tenant document with `switchboard apply -f`.
func (s *server) apply(t *testing.T, doc string) { t.Helper(); s.Apply(t, doc) }

// metric scrapes /metrics once and sums the series called name.
func (s *server) metric(t *testing.T, name string) float64 { t.Helper(); return s.Metric(t, name, nil) }
