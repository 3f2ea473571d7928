package e2e

// Helpers of the hybrid tests (issue 6): a cloud and an edge, two
// Switchboard processes on 127.0.0.1 with their own ports, joined by the
// cloud–edge trunk (UDP, each identifying the other by address and port)
// and the configuration sync (HTTP). SIPp phones register to either.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/testkit"
)

const carolPassword = "s3cret-Carol"

// hybridDoc is contoso split between the cloud and edge redmond: alice is
// homed online (1001), bob (1002) and carol (1003) on the edge. extra is
// appended (gateways, routes...); users may carry a voice routing policy.
func hybridDoc(edgeSIP, extra, policy string) string {
	user := func(addr, name, pw, ext, line, home string) string {
		s := fmt.Sprintf(`  - {sipAddress: %s, displayName: %s, password: %q, extension: "%s", lineUri: "%s", home: %s, usageLocation: US`,
			addr, name, pw, ext, line, home)
		if policy != "" {
			s += ", enterpriseVoiceEnabled: true, voiceRoutingPolicy: " + policy
		}
		return s + "}\n"
	}
	return `tenant: contoso
domains: [contoso.com]
edges:
  - {name: redmond, sipAddress: "` + edgeSIP + `"}
` + extra + `users:
` + user("alice@contoso.com", "Alice Smith", alicePassword, "1001", "+14255550101", "online") +
		user("bob@contoso.com", "Bob Jones", bobPassword, "1002", "+14255550102", "redmond") +
		user("carol@contoso.com", "Carol Diaz", carolPassword, "1003", "+14255550103", "redmond")
}

// hybridPair is a cloud and its edge.
type hybridPair struct {
	cloud, edge *server
}

// startHybrid starts the cloud, provisions doc(edgeSIP) there, creates the
// edge's token with `tokens create --edge`, starts the edge with a config
// file holding the cloud section (the documented contract) and waits
// until both sides show the edge connected.
func startHybrid(t *testing.T, doc func(edgeSIP string) string) hybridPair {
	t.Helper()
	return startHybridWith(t, hybridSetup{doc: doc})
}

// hybridSetup varies startHybrid: the lab UDP trunk by default.
type hybridSetup struct {
	doc func(edgeSIP string) string
	// example is the edge config under examples/hybrid (default edge.yaml).
	example string
	// cloudFlags are extra serve flags of the cloud.
	cloudFlags []string
	// edgeTrunk is the edge's trunk address the tenant document names
	// (default: its SIP address, the UDP trunk).
	edgeTrunk string
	// cloudSIP is cloud.sip (default: the cloud's UDP SIP address).
	cloudSIP string
	// keys replaces more keys of the example: "cloud.X" or a top-level key.
	keys map[string]string
}

func startHybridWith(t *testing.T, o hybridSetup) hybridPair {
	t.Helper()
	cloud := startServerWith(t, o.cloudFlags...)
	edgeSIP := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	trunk := cmp.Or(o.edgeTrunk, edgeSIP)
	cloud.apply(t, o.doc(trunk))
	out, err := cloud.cli(t, "tokens", "create", "--tenant", "contoso", "--edge", "redmond")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(out))
	if !strings.HasPrefix(token, "sbt_") {
		t.Fatalf("tokens create --edge printed %q", out)
	}
	// The documented example (docs/topologies/hybrid-edge.md), pointed at
	// this cloud; serve's flags override its listen addresses.
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "hybrid", cmp.Or(o.example, "edge.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	yaml := string(example)
	keys := map[string]string{"cloud.api": cloud.url(), "cloud.sip": cmp.Or(o.cloudSIP, cloud.SIP), "cloud.token": strconv.Quote(token)}
	for k, v := range o.keys {
		keys[k] = v
	}
	for key, value := range keys {
		indent, name := "", key
		if k, ok := strings.CutPrefix(key, "cloud."); ok {
			indent, name = "  ", k
		}
		re := regexp.MustCompile(`(?m)^(` + indent + name + `:) .*$`)
		if !re.MatchString(yaml) {
			t.Fatalf("examples/hybrid/%s has no %s", cmp.Or(o.example, "edge.yaml"), key)
		}
		yaml = re.ReplaceAllLiteralString(yaml, indent+name+": "+value)
	}
	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	edge := startServerAt(t, edgeSIP, "--config", cfg)
	p := hybridPair{cloud: cloud, edge: edge}
	p.waitMode(t, "connected", 15*time.Second)
	p.waitEdgeStatus(t, "connected", 15*time.Second)
	return p
}

// startServerAt is startServerWith on a given SIP address (the edge's must
// be in the tenant document before it starts).
func startServerAt(t *testing.T, sip string, extra ...string) *server {
	t.Helper()
	ts := testkit.NewServer(t, needServer(t), testkit.ServerOptions{Dir: t.TempDir(), SIP: sip, RTPPorts: 2000, DumpLines: 400})
	s := &server{Server: ts, Extra: extra}
	s.start(t)
	return s
}

// nodeStatus is `switchboard status -o json`.
type nodeStatus struct {
	Role        string `json:"role"`
	Mode        string `json:"mode"`
	Version     string `json:"version"`
	PendingCDRs int    `json:"pendingCdrs"`
}

func (s *server) status(t *testing.T) (nodeStatus, error) {
	t.Helper()
	out, err := s.cli(t, "status", "-o", "json")
	if err != nil {
		return nodeStatus{}, err
	}
	var st nodeStatus
	if err := json.Unmarshal(out, &st); err != nil {
		return nodeStatus{}, fmt.Errorf("status -o json: %w: %s", err, out)
	}
	return st, nil
}

// waitMode polls the edge's `status -o json` until its mode is mode.
func (p hybridPair) waitMode(t *testing.T, mode string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 100*time.Millisecond, "edge mode "+mode, func() (bool, string) {
		st, err := p.edge.status(t)
		if err != nil {
			return false, err.Error()
		}
		return st.Mode == mode && st.Role == "edge", fmt.Sprintf("%+v", st)
	})
}

// edgeStatus is one item of `get edges -o json` on the cloud.
type edgeStatus struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// waitEdgeStatus polls the cloud's `get edges -o json` until redmond shows status.
func (p hybridPair) waitEdgeStatus(t *testing.T, status string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, 200*time.Millisecond, "cloud shows edge redmond "+status, func() (bool, string) {
		out, err := p.cloud.cli(t, "get", "edges", "--tenant", "contoso", "-o", "json")
		if err != nil {
			return false, err.Error()
		}
		var list []edgeStatus
		if err := json.Unmarshal(out, &list); err != nil {
			return false, fmt.Sprintf("%v: %s", err, out)
		}
		return len(list) == 1 && list[0].Name == "redmond" && list[0].Status == status, string(out)
	})
}

// registrations lists the AORs registered at s (GET /api/v1/registrations).
func (s *server) registrations(t *testing.T) []string {
	t.Helper()
	var body struct {
		Items []struct {
			AOR string `json:"aor"`
		} `json:"items"`
	}
	s.getJSON(t, "/api/v1/registrations", &body)
	out := make([]string, len(body.Items))
	for i, b := range body.Items {
		out[i] = b.AOR
	}
	return out
}

// getJSON GETs an API path with the operator token and decodes the answer.
func (s *server) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, s.url()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// registered says whether aor has a binding at s.
func (s *server) registered(t *testing.T, aor string) bool {
	t.Helper()
	for _, a := range s.registrations(t) {
		if strings.EqualFold(a, aor) {
			return true
		}
	}
	return false
}

// phone registers user at s from its own SIPp socket, answers calls with
// uas.xml and echoes their RTP, for life.
func phone(t *testing.T, s *server, user, password string, life time.Duration) *sippProc {
	t.Helper()
	p := startSipp(t, sippOpts{
		Name: "phone-" + user, Scenario: "register.xml", OOC: "uas.xml", Remote: s.SIP,
		CSV: []string{registerLine(user, domain, password)}, Calls: 1,
		PauseMS: int(life / time.Millisecond), AuthURI: domain, RTPEcho: true,
		// Calls it answers may last: SIPp hangs up on a receive timeout.
		Timeout: life + 30*time.Second, RecvTimeout: time.Minute,
	})
	p.waitLog(t, "registered "+user+"@"+domain, 20*time.Second)
	return p
}

// callAs starts user's SIPp caller against s dialling target (uac.xml:
// answered call, RTP for o.PauseMS, BYE), without waiting for its end.
func callAs(t *testing.T, s *server, user, password, target string, o sippOpts) *sippProc {
	t.Helper()
	if o.Scenario == "" {
		o.Scenario = "uac.xml"
	}
	if o.Scenario == "uac.xml" && len(o.Keys) == 0 {
		o.Keys = [][2]string{rtpStreamKey(t)}
	}
	o.Remote = s.SIP
	if o.Name == "" {
		o.Name = "call-" + user + "-" + strings.TrimPrefix(target, "+")
	}
	o.CSV = []string{callerLine(user, domain, password, target)}
	o.AuthURI = target + "@" + domain
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RecvTimeout == 0 {
		o.RecvTimeout = 20 * time.Second
	}
	return startSipp(t, o)
}

// hybridCDR is a CDR with the fields the hybrid tests read.
type hybridCDR struct {
	CallID string `json:"callId"`
	Caller string `json:"caller"`
	Callee string `json:"callee"`
	Dialed string `json:"dialed"`
	Result string `json:"result"`
	Via    string `json:"via"`
}

// hybridCDRs lists s's CDRs (newest first).
func (s *server) hybridCDRs(t *testing.T) []hybridCDR {
	t.Helper()
	var body struct {
		Items []hybridCDR `json:"items"`
	}
	s.getJSON(t, "/api/v1/cdrs?limit=1000", &body)
	return body.Items
}
