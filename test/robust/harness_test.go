package robust

// The small part of test/e2e's harness these tests need (copied, not
// imported): polling, free ports, a switchboard process with its log, the
// admin CLI and /metrics.

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// server is one switchboard process under test.
type server struct {
	bin, SIP, HTTP, Data, Token, RTPPorts string
	LogLevel                              string

	log  *procLog
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of cmd.Wait, valid once done is closed
}

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
	bin := needServer(t)
	dir := t.TempDir()
	tok := make([]byte, 16)
	if _, err := crand.Read(tok); err != nil {
		t.Fatal(err)
	}
	s := &server{
		bin:      bin,
		SIP:      net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
		HTTP:     net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))),
		Data:     filepath.Join(dir, "data"),
		Token:    hex.EncodeToString(tok),
		RTPPorts: freeUDPRange(t, 400),
		LogLevel: logLevel,
	}
	l, err := newProcLog(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.log = l
	t.Cleanup(func() {
		s.stop(t)
		s.checkLog(t)
		if t.Failed() {
			dumpLines(t, "switchboard log", s.log.snapshot(), 200)
		}
		s.log.close()
	})
	args := []string{"serve", "--sip", s.SIP, "--http", s.HTTP, "--data", s.Data,
		"--admin-token", s.Token, "--rtp-ports", s.RTPPorts}
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
	s.log.mark("switchboard " + strings.Join(args, " "))
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start switchboard: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		s.err = cmd.Wait()
		close(done)
	}(s.done)

	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, 30*time.Second, 50*time.Millisecond, "switchboard /healthz", func() (bool, string) {
		if !s.running() {
			t.Fatalf("switchboard exited during start-up: %v", s.err)
		}
		resp, err := client.Get("http://" + s.HTTP + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return s
}

func (s *server) running() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// requireRunning fails the test now if the process has exited.
func (s *server) requireRunning(t *testing.T) {
	t.Helper()
	if !s.running() {
		t.Fatalf("switchboard exited: %v", s.err)
	}
}

// checkLog fails the test if the server logged a panic or a data race.
func (s *server) checkLog(t *testing.T) {
	t.Helper()
	for _, bad := range []string{"panic", "WARNING: DATA RACE", "fatal error:"} {
		if lines := s.log.grep(bad, false); len(lines) > 0 {
			t.Errorf("server log shows %q %d times, first: %s", bad, len(lines), lines[0])
		}
	}
}

// stop sends SIGTERM and waits for a clean exit; after a grace period it
// kills the process and fails the test.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if !s.running() {
		return
	}
	s.log.mark("SIGTERM")
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("switchboard did not exit within 20s of SIGTERM; killed")
		return
	}
	if s.err != nil {
		t.Errorf("switchboard did not exit cleanly after SIGTERM: %v", s.err)
	}
}

func (s *server) url() string { return "http://" + s.HTTP }

// cli runs a switchboard client subcommand against the server.
func (s *server) cli(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--server", s.url(), "--token", s.Token)
	cmd := exec.CommandContext(ctx, s.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("switchboard %s: %w\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// apply applies a tenant document with `switchboard apply -f`.
func (s *server) apply(t *testing.T, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cli(t, "apply", "-f", f); err != nil {
		t.Fatal(err)
	}
}

// metric scrapes /metrics once (a fresh connection, so the scrape leaves no
// idle keep-alive goroutine) and sums the series called name.
func (s *server) metric(t *testing.T, name string) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, s.url()+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	v, ok, err := sumMetric(resp.Body, name)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("metric %s not exposed by /metrics", name)
	}
	return v
}

// sumMetric adds the values of the series called name in the Prometheus
// text format (labels ignored).
func sumMetric(r io.Reader, name string) (total float64, ok bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.IndexAny(line, "{ \t")
		if i <= 0 || line[:i] != name {
			continue
		}
		rest := line[i:]
		if rest[0] == '{' {
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				return 0, false, fmt.Errorf("metrics line %q: unterminated labels", line)
			}
			rest = rest[end+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false, fmt.Errorf("metrics line %q: no value", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metrics line %q: %w", line, err)
		}
		if !math.IsNaN(v) {
			total += v
			ok = true
		}
	}
	return total, ok, sc.Err()
}
