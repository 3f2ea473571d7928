package testkit

import (
	"os/exec"
	"syscall"
	"time"
)

// proc is a started child process and how it ended.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of cmd.Wait, valid once done is closed
}

// run starts cmd and watches for its end.
func (p *proc) run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		p.err = cmd.Wait()
		close(done)
	}()
	return nil
}

// Running says whether the process is up.
func (p *proc) Running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Err is how the process ended (nil while it runs or after a clean exit).
func (p *proc) Err() error {
	if p.Running() {
		return nil
	}
	return p.err
}

// terminate sends SIGTERM and waits up to grace for the process to end,
// then kills it; it reports whether the process ended by itself.
func (p *proc) terminate(grace time.Duration) bool {
	if !p.Running() {
		return true
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}
