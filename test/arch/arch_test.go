package arch

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/switchboard-pbx/switchboard"

// domain packages and the third-party modules each may use (pure libraries).
var domain = map[string][]string{
	"internal/pbx":       nil,
	"internal/directory": nil,
	"internal/registrar": nil,
	"internal/callctl":   nil,
	"internal/trunk":     nil,
	"internal/planner":   nil,
	"internal/routing":   {"github.com/dlclark/regexp2", "github.com/nyaruka/phonenumbers", "google.golang.org/protobuf", "golang.org/x/text"},
	"internal/provision": {"github.com/dlclark/regexp2", "github.com/nyaruka/phonenumbers", "google.golang.org/protobuf", "golang.org/x/text"},
	"internal/numbering": {"github.com/nyaruka/phonenumbers", "google.golang.org/protobuf", "golang.org/x/text"},
	"internal/hybrid":    nil,
}

// forbidden standard-library packages: I/O belongs to the adapters.
var forbiddenStd = []string{"net/http", "database/sql", "os/exec"}

// forbidden project packages for the domain.
var forbiddenOwn = []string{"internal/signaling", "internal/store", "internal/api", "internal/app", "internal/cli", "internal/obs", "internal/media"}

func TestDomainDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	for pkg, allowed := range domain {
		out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).CombinedOutput()
		if err != nil {
			if bytes.Contains(out, []byte("cannot find package")) || bytes.Contains(out, []byte("no required module")) ||
				bytes.Contains(out, []byte("is not in std")) || bytes.Contains(out, []byte("matched no packages")) {
				continue // not written yet (e.g. hybrid)
			}
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			dep := sc.Text()
			if reason := forbidden(dep, allowed); reason != "" {
				t.Errorf("%s depends on %s: %s", pkg, dep, reason)
			}
		}
	}
}

func forbidden(dep string, allowed []string) string {
	for _, f := range forbiddenStd {
		if dep == f {
			return "domain packages do no I/O"
		}
	}
	if strings.HasPrefix(dep, module+"/") {
		own := strings.TrimPrefix(dep, module+"/")
		for _, f := range forbiddenOwn {
			if own == f || strings.HasPrefix(own, f+"/") {
				return "domain packages never import adapters"
			}
		}
		return ""
	}
	if !strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") {
		return "" // standard library
	}
	for _, a := range allowed {
		if strings.HasPrefix(dep, a) {
			return ""
		}
	}
	return "third-party module not allowed in the domain"
}
