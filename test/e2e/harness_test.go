package e2e

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
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

// ----------------------------------------------------------------- server

// server is one switchboard process under test. Its addresses, data dir
// and token stay the same across stop/start, as for a restart.
type server struct {
	bin, SIP, HTTP, Data, Token, RTPPorts string
	Extra                                 []string // more `serve` flags, e.g. --options-interval

	log    *procLog
	cmd    *exec.Cmd
	done   chan struct{}
	err    error // of cmd.Wait, valid once done is closed
	starts int
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
		RTPPorts: freeUDPRange(t, 2000),
		Extra:    extra,
	}
	l, err := newProcLog(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.log = l
	t.Cleanup(func() {
		if s.running() {
			s.stop(t)
		}
		if raced := s.log.contains("WARNING: DATA RACE"); raced {
			t.Error("data race reported by the server")
		}
		if t.Failed() {
			dumpLines(t, "switchboard log", s.log.snapshot(), 400)
		}
		s.log.close()
	})
	s.start(t)
	return s
}

// start (re)starts the process with the server's configuration and waits
// until /healthz answers 200.
func (s *server) start(t *testing.T) {
	t.Helper()
	if s.running() {
		t.Fatal("server already running")
	}
	s.starts++
	args := []string{"serve",
		"--sip", s.SIP,
		"--http", s.HTTP,
		"--data", s.Data,
		"--admin-token", s.Token,
		"--rtp-ports", s.RTPPorts,
	}
	args = append(args, s.Extra...)
	s.log.mark(fmt.Sprintf("start #%d: switchboard %s", s.starts, strings.Join(args, " ")))
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
		select {
		case <-s.done:
			t.Fatalf("switchboard exited during start-up: %v", s.err)
		default:
		}
		resp, err := client.Get("http://" + s.HTTP + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
}

func (s *server) running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for a clean exit (status 0); after a grace
// period it kills the process and fails the test.
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append(args, "--server", s.url(), "--token", s.Token)
	cmd := exec.CommandContext(ctx, s.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
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

// metrics scrapes /metrics once. A fresh connection each time, so the
// scrape itself leaves no idle keep-alive goroutine in the server.
func (s *server) metrics(t *testing.T) (metricSet, error) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, s.url()+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// metric returns the sum of the series of name whose labels include want;
// it fails the test when the server exposes no such series.
func (s *server) metric(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	ms, err := s.metrics(t)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := ms.sum(name, want)
	if !ok {
		t.Fatalf("metric %s%v not exposed by /metrics", name, want)
	}
	return v
}

// ------------------------------------------------------------ file helpers

// scenario is the absolute path of a scenario file in scenarios/.
func scenario(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

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
func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
