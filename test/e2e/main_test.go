package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

// Set once by TestMain, read-only afterwards.
var (
	switchboardBin string // path of the binary built from ./cmd/switchboard
	buildErr       error  // why it could not be built
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself
	}
	if bin := os.Getenv("SWITCHBOARD_E2E_BIN"); bin != "" {
		// A prebuilt binary (e.g. a release build) instead of building one.
		switchboardBin, buildErr = bin, nil
		if _, err := os.Stat(bin); err != nil {
			buildErr = fmt.Errorf("SWITCHBOARD_E2E_BIN: %w", err)
		}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "switchboard-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	switchboardBin, buildErr = buildSwitchboard(dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildSwitchboard builds ./cmd/switchboard into dir, with -race when the
// tests themselves run with -race.
func buildSwitchboard(dir string) (string, error) {
	return testkit.BuildSwitchboard(dir, raceEnabled)
}

// needServer skips in -short mode and fails when the binary did not build.
func needServer(t *testing.T) string {
	t.Helper()
	needSIPp(t)
	if buildErr != nil {
		t.Fatalf("switchboard binary: %v", buildErr)
	}
	return switchboardBin
}

// needSIPp skips in -short mode and fails when sipp is missing: the full
// tier needs the real peers (make test installs them).
func needSIPp(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs sipp and the switchboard binary (run without -short)")
	}
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (Debian package sip-tester; `make test` installs it): %v", err)
	}
	return p
}
