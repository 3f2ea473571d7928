package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTimerKeysDefaultsAndValues(t *testing.T) {
	d := Default().DeadCallTimers()
	if d.SessionExpires != 1800 || d.MinSE != 90 || d.RTPTimeout != 60*time.Second || d.RTPHoldTimeout != time.Hour || d.Unit != time.Second {
		t.Fatalf("defaults %+v", d)
	}
	c, err := parse("sb.yaml", []byte("sessionExpires: \"600\"\nminSe: \"120\"\nrtpTimeout: 30s\nrtpHoldTimeout: \"0\"\ntestTimerSecondMs: \"100\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.DeadCallTimers()
	if got.SessionExpires != 600 || got.MinSE != 120 || got.RTPTimeout != 30*time.Second || got.RTPHoldTimeout >= 0 || got.Unit != 100*time.Millisecond {
		t.Fatalf("timers %+v", got)
	}
}

func TestTimerKeysErrorsHaveFileLine(t *testing.T) {
	path := writeFile(t, "sb.yaml", "logLevel: info\nminSe: \"30\"\nrtpTimeout: soon\nsessionExpires: \"100\"\ntestTimerSecondMs: \"0\"\n")
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+"/", "")
	for _, want := range []string{
		"sb.yaml:2: minSe: \"30\" is not a number of seconds from 90",
		"sb.yaml:3: rtpTimeout: \"soon\" is not a duration",
		"sb.yaml:5: testTimerSecondMs: \"0\" is not a number of milliseconds",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// minSe bad → default 90 used; sessionExpires 100 is fine then.
	if strings.Contains(msg, "sessionExpires") {
		t.Errorf("unexpected sessionExpires problem:\n%s", msg)
	}
	c := Default()
	c.SessionExpires, c.MinSE = "100", "200"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "sessionExpires: 100 is below minSe 200") {
		t.Errorf("Validate = %v", err)
	}
}
