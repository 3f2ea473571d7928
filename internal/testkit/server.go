package testkit

import (
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
)

// ServerOptions shape a Server.
type ServerOptions struct {
	// SIP is the SIP listen address; default a free 127.0.0.1 port.
	SIP string
	// Dir holds the data directory (Dir/data); LogDir the server's log
	// (default Dir).
	Dir, LogDir string
	// RTPPorts is how many relay ports to reserve.
	RTPPorts int
	// FailOn are more log substrings that fail the test (a data race
	// always does), e.g. "panic".
	FailOn []string
	// DumpLines is how much of the log a failed test prints (default 200).
	DumpLines int
}

// Server is one switchboard process under test, on fresh 127.0.0.1 ports
// with its own data directory and token. Its addresses, data and token
// stay the same across Stop/Start and Kill/Start, as for a restart. It is
// stopped when the test ends.
type Server struct {
	Bin, SIP, HTTP, Data, Token, RTPPorts string
	Log                                   *ProcLog

	proc
	starts int
}

// NewServer prepares a server (ports, token, log) without starting it.
func NewServer(t testing.TB, bin string, o ServerOptions) *Server {
	t.Helper()
	tok := make([]byte, 16)
	if _, err := crand.Read(tok); err != nil {
		t.Fatal(err)
	}
	if o.SIP == "" {
		o.SIP = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
	}
	s := &Server{
		Bin:      bin,
		SIP:      o.SIP,
		HTTP:     net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t))),
		Data:     filepath.Join(o.Dir, "data"),
		Token:    hex.EncodeToString(tok),
		RTPPorts: FreeUDPRange(t, o.RTPPorts),
	}
	logDir := o.LogDir
	if logDir == "" {
		logDir = o.Dir
	}
	l, err := NewProcLog(filepath.Join(logDir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.Log = l
	dump := o.DumpLines
	if dump == 0 {
		dump = 200
	}
	t.Cleanup(func() {
		s.Stop(t)
		for _, bad := range append([]string{"WARNING: DATA RACE"}, o.FailOn...) {
			if lines := l.Grep(bad, false); len(lines) > 0 {
				t.Errorf("server log shows %q %d times, first: %s", bad, len(lines), lines[0])
			}
		}
		if t.Failed() {
			DumpLines(t, "switchboard log", l.Snapshot(), dump)
		}
		l.Close()
	})
	return s
}

// Start (re)starts the process with the server's addresses plus extra
// `serve` flags and waits until /healthz answers 200.
func (s *Server) Start(t testing.TB, extra ...string) {
	t.Helper()
	if s.Running() {
		t.Fatal("server already running")
	}
	s.starts++
	args := append([]string{"serve", "--sip", s.SIP, "--http", s.HTTP, "--data", s.Data,
		"--admin-token", s.Token, "--rtp-ports", s.RTPPorts}, extra...)
	s.Log.Mark(fmt.Sprintf("start #%d: switchboard %s", s.starts, strings.Join(args, " ")))
	cmd := exec.Command(s.Bin, args...)
	cmd.Stdout, cmd.Stderr = s.Log, s.Log
	cmd.Env = append(os.Environ(), "GOTRACEBACK=all")
	if err := s.run(cmd); err != nil {
		t.Fatalf("start switchboard: %v", err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	WaitFor(t, 30*time.Second, 50*time.Millisecond, "switchboard /healthz", func() (bool, string) {
		if !s.Running() {
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
}

// Signal sends sig to the running process (SIGHUP: reload).
func (s *Server) Signal(sig os.Signal) error {
	if !s.Running() {
		return fmt.Errorf("switchboard is not running")
	}
	return s.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM and waits for a clean exit (status 0); after 20 s it
// kills the process and fails the test.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if !s.Running() {
		return
	}
	s.Log.Mark("SIGTERM")
	if !s.terminate(20 * time.Second) {
		t.Errorf("switchboard did not exit within 20s of SIGTERM; killed")
		return
	}
	if s.err != nil {
		t.Errorf("switchboard did not exit cleanly after SIGTERM: %v", s.err)
	}
}

// Kill ends the process with SIGKILL (a crash) and waits for it to be gone.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.Log.Mark("SIGKILL")
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("switchboard still running 10s after SIGKILL")
	}
}

// URL is the API's base URL.
func (s *Server) URL() string { return "http://" + s.HTTP }

// CLI runs a switchboard client subcommand against the server.
func (s *Server) CLI(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append(args, "--server", s.URL(), "--token", s.Token)
	cmd := exec.CommandContext(ctx, s.Bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("switchboard %s: %w\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// Apply applies a tenant document with `switchboard apply -f`.
func (s *Server) Apply(t testing.TB, doc string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tenant.yaml")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CLI(t, "apply", "-f", f); err != nil {
		t.Fatal(err)
	}
}

// Metrics scrapes /metrics once, on a fresh connection so that the scrape
// leaves no idle keep-alive goroutine in the server.
func (s *Server) Metrics() (MetricSet, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, s.URL()+"/metrics", nil)
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
	return ParseMetrics(resp.Body)
}

// Metric returns the sum of the series of name whose labels include want
// (nil: all); it fails the test when the server exposes no such series.
func (s *Server) Metric(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	ms, err := s.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := ms.Sum(name, want)
	if !ok {
		t.Fatalf("metric %s%v not exposed by /metrics", name, want)
	}
	return v
}
