// Package testkit holds what the black-box test suites (test/e2e,
// test/robust) share: polling, free loopback ports, a child process's log,
// and building the switchboard binary once per suite. It is test support
// only; no production package imports it.
package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// WaitFor polls cond every interval until it reports true or timeout
// passes; then it fails the test with what and cond's last detail.
func WaitFor(t testing.TB, timeout, interval time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, detail)
		}
		time.Sleep(interval) // poll interval, not a wait for a condition
	}
}

// FreePort returns a port that is free for both UDP and TCP on every
// address (bound on the wildcard to check), chosen at random in 30000-32767:
// below the kernel's ephemeral range, so no outgoing socket of a parallel
// test can take it between the check and the use, and above the ranges
// FreeUDPRange hands out for media. The port is also reserved, for the
// test's lifetime, by a lock file shared by every test process on the
// machine, so two parallel suites never pick the same one.
func FreePort(t testing.TB) int {
	t.Helper()
	const lowest, span = 30000, 2768
	dir := filepath.Join(os.TempDir(), "switchboard-test-ports")
	_ = os.MkdirAll(dir, 0o755)
	for range 500 {
		port := lowest + rand.IntN(span)
		if !reserve(t, dir, port) {
			continue
		}
		tl, err := net.Listen("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ul, err := net.ListenPacket("udp", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
		_ = tl.Close()
		if err != nil {
			continue
		}
		_ = ul.Close()
		return port
	}
	t.Fatal("no port free for both UDP and TCP in 30000-32767")
	return 0
}

// reserve takes the lock file of port (a stale one, older than an hour,
// from a run that was killed, is taken over) and removes it when the test
// ends.
func reserve(t testing.TB, dir string, port int) bool {
	path := filepath.Join(dir, strconv.Itoa(port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		fi, serr := os.Stat(path)
		if serr != nil || time.Since(fi.ModTime()) < time.Hour {
			return false
		}
		_ = os.Remove(path)
		if f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err != nil {
			return false
		}
	}
	_ = f.Close()
	t.Cleanup(func() { _ = os.Remove(path) })
	return true
}

// FreeUDPRange returns "LOW-HIGH", n consecutive UDP ports (LOW even) that
// are free on 127.0.0.1 now, in 10000-29999: below FreePort's band and
// the kernel's ephemeral range, above SIPp's default media ports
// (6000-6199), at a random place so parallel servers rarely pick the same
// range.
func FreeUDPRange(t testing.TB, n int) string {
	t.Helper()
	const lowest, highest = 10000, 30000
	for range 50 {
		low := lowest + 2*rand.IntN((highest-lowest-n)/2)
		if udpRangeFree(low, n) {
			return fmt.Sprintf("%d-%d", low, low+n-1)
		}
	}
	t.Fatalf("no %d free consecutive UDP ports between %d and %d", n, lowest, highest)
	return ""
}

func udpRangeFree(low, n int) bool {
	conns := make([]net.PacketConn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for p := low; p < low+n; p++ {
		c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return false
		}
		conns = append(conns, c)
	}
	return true
}

// ProcLog collects a child process's output in a file and in memory, so a
// failing test can show it.
type ProcLog struct {
	mu    sync.Mutex
	file  *os.File
	lines []string
	part  []byte
}

// NewProcLog creates the log file at path.
func NewProcLog(path string) (*ProcLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &ProcLog{file: f}, nil
}

// Write implements io.Writer (the process's stdout and stderr).
func (l *ProcLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.file.Write(p)
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

// Mark writes a separator line (e.g. the command being run).
func (l *ProcLog) Mark(s string) { _, _ = l.Write([]byte("----- " + s + "\n")) }

// Snapshot returns every line so far.
func (l *ProcLog) Snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.lines...)
	if len(l.part) > 0 {
		out = append(out, string(l.part))
	}
	return out
}

// Contains reports whether a line contains s.
func (l *ProcLog) Contains(s string) bool {
	for _, line := range l.Snapshot() {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// Grep returns the lines containing s (case-insensitively when fold).
func (l *ProcLog) Grep(s string, fold bool) []string {
	var out []string
	for _, line := range l.Snapshot() {
		if strings.Contains(line, s) || fold && strings.Contains(strings.ToLower(line), strings.ToLower(s)) {
			out = append(out, line)
		}
	}
	return out
}

// Close closes the log file.
func (l *ProcLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.file.Close()
}

// DumpLines logs the last max lines with a header.
func DumpLines(t testing.TB, header string, lines []string, max int) {
	t.Helper()
	if len(lines) > max {
		t.Logf("%s (last %d of %d lines):", header, max, len(lines))
		lines = lines[len(lines)-max:]
	} else {
		t.Logf("%s (%d lines):", header, len(lines))
	}
	for _, l := range lines {
		t.Log("  " + l)
	}
}

// DumpFile logs the last max lines of a file, if it has any.
func DumpFile(t testing.TB, header, path string, max int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return
	}
	DumpLines(t, header+" "+filepath.Base(path), strings.Split(strings.TrimRight(string(b), "\n"), "\n"), max)
}

// BuildSwitchboard builds ./cmd/switchboard of the module the tests run in
// into dir (with -race when race) and returns the binary's path.
func BuildSwitchboard(dir string, race bool) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go toolchain not found: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the switchboard module")
	}
	bin := filepath.Join(dir, "switchboard")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/switchboard")
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}
