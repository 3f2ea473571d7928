package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
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

// ----------------------------------------------------------------- server

// server is one switchboard process under test (testkit.Server). Its
// addresses, data dir and token stay the same across stop/start, as for a
// restart.
type server struct {
	*testkit.Server
	Extra []string // more `serve` flags, e.g. --options-interval
}

// startServer starts a switchboard on fresh 127.0.0.1 ports with a fresh
// data dir and waits for /healthz. It is stopped when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	return startServerWith(t)
}

// startServerWith is startServer with more `serve` flags.
func startServerWith(t *testing.T, extra ...string) *server {
	t.Helper()
	ts := testkit.NewServer(t, needServer(t), testkit.ServerOptions{Dir: t.TempDir(), RTPPorts: 2000, DumpLines: 400})
	s := &server{Server: ts, Extra: extra}
	s.start(t)
	return s
}

// start (re)starts the process with the server's configuration and waits
// until /healthz answers 200.
func (s *server) start(t *testing.T) { t.Helper(); s.Start(t, s.Extra...) }

func (s *server) running() bool { return s.Running() }

// stop sends SIGTERM and waits for a clean exit (status 0); after a grace
// period it kills the process and fails the test.
func (s *server) stop(t *testing.T) { t.Helper(); s.Stop(t) }

func (s *server) url() string { return s.URL() }

// cli runs a switchboard client subcommand against the server.
func (s *server) cli(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	return s.CLI(t, args...)
}

// apply applies a tenant document with `switchboard apply -f`.
func (s *server) apply(t *testing.T, doc string) { t.Helper(); s.Apply(t, doc) }

// metric returns the sum of the series of name whose labels include want;
// it fails the test when the server exposes no such series.
func (s *server) metric(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	return s.Metric(t, name, want)
}

// ------------------------------------------------------------ file helpers

// silencePCMU writes d of PCMU silence (0xFF, 8000 bytes a second) for
// SIPp's rtp_stream and returns its path. The path goes into a
// comma-separated SIPp argument, so it is not under t.TempDir (subtest
// names may hold commas).
func silencePCMU(t *testing.T, d time.Duration) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "e2e-rtp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p := filepath.Join(dir, "silence.pcmu")
	if strings.ContainsAny(p, ", ") {
		t.Fatalf("temp path %q unusable in a SIPp rtp_stream argument", p)
	}
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xFF}, int(d.Seconds()*8000)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readLines reads a file's lines; a missing file has none.
func readLines(path string) []string { return testkit.ReadLines(path) }
