package robust

// A trimmed copy of test/e2e's SIPp driver: every run is bounded by -m and
// -timeout, traces go to the test's temp dir, the process is stopped when
// the test ends. Scenarios are test/e2e's own files.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type sippOpts struct {
	Name     string        // trace directory name
	Scenario string        // file in ../e2e/scenarios
	OOC      string        // out-of-call scenario in ../e2e/scenarios
	Remote   string        // host:port to send to
	Port     int           // local SIP port (-p); 0 lets SIPp pick
	CSV      []string      // injection lines (-inf), read SEQUENTIAL
	PauseMS  int           // -d
	AuthURI  string        // -auth_uri
	Keys     [][2]string   // -key keyword value
	RTPEcho  bool          // -rtp_echo
	Timeout  time.Duration // -timeout, SIPp fails when reached
	LocalIP  string        // -i; default 127.0.0.1
}

type sippProc struct {
	name, dir string
	cmd       *exec.Cmd
	cancel    context.CancelFunc
	out       *procLog
	done      chan struct{}
	err       error
}

func scenario(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "e2e", "scenarios", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func startSipp(t *testing.T, o sippOpts) *sippProc {
	t.Helper()
	bin := needTool(t, "sip-tester", "sipp")
	if o.Timeout <= 0 {
		t.Fatal("sipp needs a timeout")
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
	local := o.LocalIP
	if local == "" {
		local = "127.0.0.1"
	}
	args = append(args, "-i", local, "-mi", local, "-m", "1")
	if o.Port != 0 {
		args = append(args, "-p", strconv.Itoa(o.Port))
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
	args = append(args,
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout/time.Second)), "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "log.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, "messages.log"),
		"-nostdin", o.Remote)
	out, err := newProcLog(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.out = out
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	p.cancel = cancel
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
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
			dumpLines(t, "sipp "+p.name+" errors", readLines(filepath.Join(dir, "errors.log")), 40)
			dumpLines(t, "sipp "+p.name+" stdout", p.out.snapshot(), 40)
		}
		p.out.close()
		p.cancel()
	})
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

func (p *sippProc) requireOK(t *testing.T) {
	t.Helper()
	<-p.done
	if p.cmd.ProcessState == nil || p.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("sipp %s failed (%v): %s", p.name, p.err, strings.Join(readLines(filepath.Join(p.dir, "errors.log")), " | "))
	}
}

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
	}
}

// waitLog polls the -trace_logs file until a line contains s.
func (p *sippProc) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 50*time.Millisecond, "sipp "+p.name+" to log "+s, func() (bool, string) {
		for _, l := range readLines(filepath.Join(p.dir, "log.log")) {
			if strings.Contains(l, s) {
				return true, ""
			}
		}
		if !p.running() {
			t.Fatalf("sipp %s exited before logging %q", p.name, s)
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
	b, _ := os.ReadFile(filepath.Join(p.dir, "messages.log"))
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

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

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
