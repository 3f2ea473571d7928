package e2e

// Issue 3's live-change acceptance: a change applied while the server runs
// reaches the call path within a second, without a restart.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// liveWindow is how soon an applied change must take effect.
const liveWindow = time.Second

// routeTest asks the server's route test where alice's call to dial goes.
func (s *server) routeTest(t *testing.T, dial string) (target, user string, err error) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": "alice@contoso.com", "dial": dial})
	req, err := http.NewRequest(http.MethodPost, s.url()+"/api/v1/tenants/contoso/routeTest", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	var d struct {
		Target string `json:"target"`
		User   string `json:"user"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("route test: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return "", "", err
	}
	return d.Target, d.User, nil
}

func TestLiveExtensionChange(t *testing.T) {
	t.Parallel()
	s := newContoso(t)
	registerCallee(t, s, "uas.xml", 3*time.Minute)
	seen := map[string]bool{}
	rtp := [][2]string{rtpStreamKey(t)}

	dial(t, s, "uac.xml", "1002", sippOpts{Name: "to-1002-before", PauseMS: 200, Keys: rtp}).requireOK(t)
	seen[s.waitCDR(t, "call to 1002 before the change", cdrFor("1002", seen)).CallID] = true

	changed := strings.Replace(contosoDoc, `extension: "1002"`, `extension: "2002"`, 1)
	if changed == contosoDoc {
		t.Fatal(`contosoDoc no longer gives bob extension "1002"`)
	}
	s.apply(t, changed)
	applied := time.Now()

	// The routing the call path uses sees bob at 2002 at once.
	waitFor(t, liveWindow, 10*time.Millisecond, "route test of 2002 to reach bob", func() (bool, string) {
		target, user, err := s.routeTest(t, "2002")
		if err != nil {
			return false, err.Error()
		}
		return target == "user" && user == "bob@contoso.com", "target " + target + " user " + user
	})
	t.Logf("route test sees the change %v after the apply returned", time.Since(applied).Round(time.Millisecond))

	// A real call to 2002, placed (and retried) within the window, succeeds.
	for attempt := 1; ; attempt++ {
		start := time.Since(applied)
		if start > liveWindow {
			t.Fatalf("no call to 2002 succeeded within %v of the apply (%d attempts)", liveWindow, attempt-1)
		}
		p := dial(t, s, "uac.xml", "2002", sippOpts{Name: fmt.Sprintf("to-2002-%d", attempt), PauseMS: 200, Keys: rtp})
		if p.exitCode() == 0 {
			t.Logf("call to 2002 placed %v after the apply succeeded (attempt %d)", start.Round(time.Millisecond), attempt)
			break
		}
	}
	c := s.waitCDR(t, "answered call to 2002", cdrFor("2002", seen))
	seen[c.CallID] = true
	checkCDR(t, c, "answered", 200)
	if start, err := time.Parse(time.RFC3339Nano, c.Start); err != nil {
		t.Errorf("CDR start %q: %v", c.Start, err)
	} else if d := start.Sub(applied); d > liveWindow {
		t.Errorf("the call to 2002 reached the server %v after the apply, want within %v", d, liveWindow)
	}

	// The old extension is gone.
	dial(t, s, "uac_expect.xml", "1002", sippOpts{Name: "to-1002-after", Sets: [][2]string{{"expect", "404"}}}).requireOK(t)
	checkCDR(t, s.waitCDR(t, "call to 1002 after the change", cdrFor("1002", seen)), "not-found", 404)
}
