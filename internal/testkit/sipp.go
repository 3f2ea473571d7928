package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SippOpts describes one SIPp process. Every run is bounded: Calls (-m)
// and Timeout (-timeout with -timeout_error) are required.
type SippOpts struct {
	Name        string        // names the trace directory; defaults to the scenario
	Scenario    string        // scenario file (-sf), in ScenarioDir
	OOC         string        // out-of-call scenario (-oocsf), in ScenarioDir
	ScenarioDir string        // where scenarios are; default "scenarios"
	Dir         string        // where the trace directory goes; default t.TempDir()
	Remote      string        // host:port to send to; empty for a pure UAS
	Port        int           // local SIP port (-p); 0 lets SIPp pick
	CSV         []string      // injection lines (-inf), read SEQUENTIAL
	Calls       int           // -m
	Limit       int           // -l, simultaneous calls
	Rate        int           // -r, calls per second
	PauseMS     int           // -d, length of <pause/> in ms
	AuthURI     string        // -auth_uri (digest uri is sip:<AuthURI>)
	Keys        [][2]string   // -key keyword value
	Sets        [][2]string   // -set variable value
	RTPEcho     bool          // -rtp_echo
	Lost        int           // -lost percent (messages traced then, whatever NoMsgTrace says)
	Timeout     time.Duration // -timeout, SIPp fails when reached
	RecvTimeout time.Duration // -recv_timeout, per expected message
	NoMsgTrace  bool          // skip -trace_msg (long load runs)
	Stats       bool          // -trace_stat every second into stat.csv
	TimeoutEnds bool          // Timeout ends the run normally (no -timeout_error): a UAS kept up for a while
	IP          string        // local address (-i, -mi); default 127.0.0.1
	Transport   string        // -t (u1 default, t1 for TCP)
}

// Sipp is a running or finished SIPp process with its traces in Dir:
// errors.log, log.log (the scenario's <log> actions), messages.log,
// stat.csv and stdout.log.
type Sipp struct {
	Name, Dir string
	Out       *ProcLog // stdout and stderr

	proc
	cancel context.CancelFunc
}

// StartSipp starts SIPp (bin) with o. It is stopped, and its traces dumped
// if the test failed, when the test ends.
func StartSipp(t testing.TB, bin string, o SippOpts) *Sipp {
	t.Helper()
	if o.Calls <= 0 || o.Timeout <= 0 {
		t.Fatal("sipp needs a bounded number of calls and a timeout")
	}
	if o.Name == "" {
		o.Name = strings.TrimSuffix(filepath.Base(o.Scenario), ".xml")
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	dir := filepath.Join(o.Dir, o.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &Sipp{Name: o.Name, Dir: dir}
	scenario := func(name string) string {
		sd := o.ScenarioDir
		if sd == "" {
			sd = "scenarios"
		}
		path, err := filepath.Abs(filepath.Join(sd, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	args := []string{"-sf", scenario(o.Scenario)}
	if o.OOC != "" {
		args = append(args, "-oocsf", scenario(o.OOC))
	}
	ip := o.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	args = append(args, "-i", ip, "-mi", ip, "-m", strconv.Itoa(o.Calls))
	opt := func(flag string, v int) {
		if v > 0 {
			args = append(args, flag, strconv.Itoa(v))
		}
	}
	if o.Transport != "" {
		args = append(args, "-t", o.Transport)
	}
	opt("-p", o.Port)
	opt("-l", o.Limit)
	if o.Rate > 0 {
		args = append(args, "-r", strconv.Itoa(o.Rate), "-rp", "1000")
	}
	opt("-d", o.PauseMS)
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
	for _, kv := range o.Sets {
		args = append(args, "-set", kv[0], kv[1])
	}
	if o.RTPEcho {
		args = append(args, "-rtp_echo")
	}
	opt("-lost", o.Lost)
	args = append(args,
		"-timeout", fmt.Sprintf("%ds", int(o.Timeout.Round(time.Second)/time.Second)),
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"),
		"-trace_logs", "-log_file", filepath.Join(dir, "log.log"),
		"-nostdin")
	if !o.TimeoutEnds {
		args = append(args, "-timeout_error")
	}
	opt("-recv_timeout", int(o.RecvTimeout/time.Millisecond))
	if !o.NoMsgTrace || o.Lost > 0 { // under loss every failure needs its history
		args = append(args, "-trace_msg", "-message_file", filepath.Join(dir, "messages.log"))
	}
	if o.Stats {
		args = append(args, "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1")
	}
	if o.Remote != "" {
		args = append(args, o.Remote)
	}

	out, err := NewProcLog(filepath.Join(dir, "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.Out = out
	// Backstop in case SIPp's own -timeout does not fire.
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	p.cancel = cancel
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	out.Mark("sipp " + strings.Join(args, " "))
	if err := p.run(cmd); err != nil {
		cancel()
		t.Fatalf("start sipp %s: %v", o.Name, err)
	}
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			p.Dump(t)
		}
		p.Out.Close()
		p.cancel()
	})
	return p
}

// Wait waits for the process to end and returns SIPp's exit status.
func (p *Sipp) Wait() int {
	<-p.done
	return p.ExitCode()
}

// ExitCode is SIPp's exit status: 0 when every call succeeded, 1 when some
// failed, 255 on a fatal error, -1 while running or when killed.
func (p *Sipp) ExitCode() int {
	if p.Running() || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop ends a running SIPp with SIGTERM (it prints its final statistics)
// and kills it if it does not exit.
func (p *Sipp) Stop(t testing.TB) {
	t.Helper()
	if !p.terminate(10 * time.Second) {
		t.Errorf("sipp %s ignored SIGTERM; killed", p.Name)
	}
}

// LogLines are the lines of the scenario's <log> actions (-trace_logs).
func (p *Sipp) LogLines() []string { return ReadLines(filepath.Join(p.Dir, "log.log")) }

// ErrorLines are the lines of SIPp's error log.
func (p *Sipp) ErrorLines() []string { return ReadLines(filepath.Join(p.Dir, "errors.log")) }

// ErrorSummary is the end of SIPp's error log, on one line.
func (p *Sipp) ErrorSummary() string {
	lines := p.ErrorLines()
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, " | ")
}

// Dump logs the traces of a failed run.
func (p *Sipp) Dump(t testing.TB) {
	t.Helper()
	t.Logf("sipp %s: exit %d, traces in %s", p.Name, p.ExitCode(), p.Dir)
	DumpFile(t, "sipp "+p.Name, filepath.Join(p.Dir, "errors.log"), 60)
	DumpFile(t, "sipp "+p.Name, filepath.Join(p.Dir, "log.log"), 40)
	DumpFile(t, "sipp "+p.Name, filepath.Join(p.Dir, "messages.log"), 200)
	DumpLines(t, "sipp "+p.Name+" stdout", p.Out.Snapshot(), 60)
}

// ReadLines reads a file's lines; a missing file has none.
func ReadLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
