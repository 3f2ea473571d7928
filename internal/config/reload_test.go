package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

func TestLocateCallingPlan(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.yaml")
	src := "sip: 127.0.0.1:5060\ncallingPlan:\n  countries: [US]\n  numberInventory:\n    - {country: US, range: \"+14255550000-+14255550009\", type: user}\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	err := LocateCallingPlan(p, []numbering.Problem{{Path: "numberInventory", Message: "in use"},
		{Path: "numberInventory[0].range", Message: "bad"}})
	want := p + ":4: callingPlan.numberInventory: in use\n" + p + ":5: callingPlan.numberInventory[0].range: bad"
	if err == nil || err.Error() != want {
		t.Fatalf("LocateCallingPlan = %v\nwant %s", err, want)
	}
	// A file gone since: no line, still the file and the key.
	err = LocateCallingPlan(p+".gone", []numbering.Problem{{Path: "rates", Message: "x"}})
	if err == nil || err.Error() != p+".gone: callingPlan.rates: x" {
		t.Fatalf("LocateCallingPlan of a missing file = %v", err)
	}
}

func TestRestartKeys(t *testing.T) {
	run := Default()
	run.AdminToken = "secret-1"
	run.CallingPlan = &CallingPlan{Countries: []string{"US"}}
	next := run
	next.CallingPlan = &CallingPlan{Countries: []string{"US", "GB"}} // hot: not listed
	if keys := RestartKeys(run, next); len(keys) != 0 {
		t.Fatalf("RestartKeys = %v, want none", keys)
	}
	next.SIP, next.LogLevel, next.AdminToken = "127.0.0.1:5070", "debug", "secret-2"
	keys := RestartKeys(run, next)
	if !slices.Equal(keys, []string{"adminToken", "logLevel", "sip"}) {
		t.Fatalf("RestartKeys = %v", keys)
	}
	if strings.Contains(strings.Join(keys, " "), "secret") {
		t.Fatal("a secret in the answer")
	}
	next = run
	next.CallingPlan = nil
	if keys := RestartKeys(run, next); !slices.Equal(keys, []string{"callingPlan"}) {
		t.Fatalf("removing the section: %v", keys)
	}
}
