package robust

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
		os.Exit(m.Run()) // tests needing the binary skip themselves
	}
	if bin := os.Getenv("SWITCHBOARD_E2E_BIN"); bin != "" {
		switchboardBin, buildErr = bin, nil
		if _, err := os.Stat(bin); err != nil {
			buildErr = fmt.Errorf("SWITCHBOARD_E2E_BIN: %w", err)
		}
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "switchboard-robust-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "robust:", err)
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
	if testing.Short() {
		t.Skip("black-box test: needs the switchboard binary (run without -short)")
	}
	if buildErr != nil {
		t.Fatalf("switchboard binary: %v", buildErr)
	}
	return switchboardBin
}

// needTool skips in -short mode and fails when none of the named commands
// is installed (the full tier installs the peers); it returns the first
// found.
func needTool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s (run without -short)", strings.Join(names, " or "))
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found (Debian package %s)", strings.Join(names, " or "), pkg)
	return ""
}

// testdata is the shared corpus directory, ../shared/testdata from the
// project's root, or $SWITCHBOARD_TESTDATA.
func testdata(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("SWITCHBOARD_TESTDATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "testdata")
	}
	p, err := filepath.Abs(filepath.Join(dir, sub))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test corpus: %v (set SWITCHBOARD_TESTDATA)", err)
	}
	return p
}
