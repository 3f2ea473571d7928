package config

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/cli/yamldoc"
)

// Dead-call settings (issue 9, ADR 0005): RFC 4028 session timers on every
// leg and the RTP inactivity timeout. Values are strings like the other
// keys so that flags and the file share one validation.

// Timer defaults.
const (
	DefaultSessionExpires = 1800 // seconds
	DefaultMinSE          = 90   // seconds; RFC 4028 forbids less
	DefaultRTPTimeout     = 60 * time.Second
	DefaultRTPHoldTimeout = time.Hour
)

// Timers are the validated dead-call settings.
type Timers struct {
	SessionExpires int           // seconds
	MinSE          int           // seconds
	RTPTimeout     time.Duration // negative: off
	RTPHoldTimeout time.Duration // negative: off
	// Unit is the length of one session-timer second: 1 s, except in
	// tests (testTimerSecondMs).
	Unit time.Duration
}

type keyProblem struct{ key, msg string }

// timerProblems validates the dead-call keys.
func (c Config) timerProblems() []keyProblem {
	var out []keyProblem
	seconds := func(key, v string, def int) int {
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < DefaultMinSE || n > 86400 {
			out = append(out, keyProblem{key, fmt.Sprintf("%q is not a number of seconds from %d to 86400", v, DefaultMinSE)})
			return def
		}
		return n
	}
	se := seconds("sessionExpires", c.SessionExpires, DefaultSessionExpires)
	minSE := seconds("minSe", c.MinSE, DefaultMinSE)
	if se < minSE {
		out = append(out, keyProblem{"sessionExpires", fmt.Sprintf("%d is below minSe %d", se, minSE)})
	}
	for _, d := range []struct{ key, value string }{{"rtpTimeout", c.RTPTimeout}, {"rtpHoldTimeout", c.RTPHoldTimeout}} {
		if d.value == "" || d.value == "0" {
			continue
		}
		if v, err := time.ParseDuration(d.value); err != nil || v < time.Second {
			out = append(out, keyProblem{d.key, fmt.Sprintf("%q is not a duration of at least 1s (e.g. 60s), or 0 for off", d.value)})
		}
	}
	if c.TestTimerSecondMs != "" {
		if n, err := strconv.Atoi(c.TestTimerSecondMs); err != nil || n < 1 || n > 1000 {
			out = append(out, keyProblem{"testTimerSecondMs", fmt.Sprintf("%q is not a number of milliseconds from 1 to 1000", c.TestTimerSecondMs)})
		}
	}
	return out
}

// checkTimers validates the dead-call keys where they were read, so that
// each problem has its FILE:LINE.
func checkTimers(name string, doc *yamldoc.Doc, c Config) error {
	var errs []error
	for _, p := range c.timerProblems() {
		errs = append(errs, errors.New(yamldoc.Problem{Line: doc.LineOf(p.key), Path: p.key, Message: p.msg}.Format(name)))
	}
	return errors.Join(errs...)
}

// DeadCallTimers returns the dead-call settings with their defaults. Call
// after Validate.
func (c Config) DeadCallTimers() Timers {
	t := Timers{SessionExpires: DefaultSessionExpires, MinSE: DefaultMinSE,
		RTPTimeout: DefaultRTPTimeout, RTPHoldTimeout: DefaultRTPHoldTimeout, Unit: time.Second}
	if n, err := strconv.Atoi(c.SessionExpires); err == nil {
		t.SessionExpires = n
	}
	if n, err := strconv.Atoi(c.MinSE); err == nil {
		t.MinSE = n
	}
	for _, d := range []struct {
		v   string
		dst *time.Duration
	}{{c.RTPTimeout, &t.RTPTimeout}, {c.RTPHoldTimeout, &t.RTPHoldTimeout}} {
		switch v, err := time.ParseDuration(d.v); {
		case d.v == "0":
			*d.dst = -1
		case err == nil:
			*d.dst = v
		}
	}
	if n, err := strconv.Atoi(c.TestTimerSecondMs); err == nil && n > 0 {
		t.Unit = time.Duration(n) * time.Millisecond
	}
	return t
}
