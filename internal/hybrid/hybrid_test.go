package hybrid

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

func TestHome(t *testing.T) {
	for _, tc := range []struct {
		home, want string
	}{{"", Online}, {"online", Online}, {"Online", Online}, {" redmond ", "redmond"}} {
		if got := Home(&pbx.User{Home: tc.home}); got != tc.want {
			t.Errorf("Home(%q) = %q, want %q", tc.home, got, tc.want)
		}
	}
	if Home(nil) != Online {
		t.Error("Home(nil) is not online")
	}
}

func TestPlaceUser(t *testing.T) {
	yes := func() bool { return true }
	no := func() bool { return false }
	cloud := Node{Self: Online, Mode: ModeCloud}
	edge := Node{Self: "redmond", Mode: ModeConnected}
	lost := Node{Self: "redmond", Mode: ModeSurvivable}
	for _, tc := range []struct {
		name     string
		n        Node
		home     string
		fromPeer string
		local    func() bool
		want     Placement
	}{
		{"cloud user at the cloud", cloud, Online, "", no, Placement{Local: true}},
		{"empty home is online", cloud, "", "", no, Placement{Local: true}},
		{"edge user from the cloud", cloud, "redmond", "", no, Placement{Peer: "redmond"}},
		{"edge user, call from that edge: no loop", cloud, "redmond", "redmond", no, Placement{Local: true}},
		{"transit to another edge", cloud, "paris", "redmond", no, Placement{Peer: "paris"}},
		{"edge user at the edge", edge, "redmond", "", no, Placement{Local: true}},
		{"cloud user from the edge", edge, Online, "", yes, Placement{Peer: Online}},
		{"other edge's user goes through the cloud", edge, "paris", "", no, Placement{Peer: Online}},
		{"from the cloud: never back", edge, Online, Online, no, Placement{Local: true}},
		{"connecting edge tries the cloud", Node{Self: "redmond", Mode: ModeConnecting}, Online, "", no, Placement{Peer: Online}},
		{"survivable: fallback registration", lost, Online, "", yes, Placement{Local: true}},
		{"survivable: cloud user not here", lost, Online, "", no, Placement{Reject: 480}},
		{"survivable: own user", lost, "redmond", "", no, Placement{Local: true}},
	} {
		if got := tc.n.PlaceUser(tc.home, tc.fromPeer, tc.local); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestRegisterAtAndKeeps(t *testing.T) {
	cloud := Node{Self: Online}
	edge := Node{Self: "redmond", Mode: ModeConnected}
	lost := Node{Self: "redmond", Mode: ModeSurvivable}
	for _, tc := range []struct {
		n          Node
		home, want string
	}{
		{cloud, Online, ""}, {cloud, "redmond", "redmond"},
		{edge, "redmond", ""}, {edge, Online, Online}, {edge, "paris", "paris"},
		{lost, Online, ""}, {lost, "paris", ""},
	} {
		if got := tc.n.RegisterAt(tc.home); got != tc.want {
			t.Errorf("%+v RegisterAt(%q) = %q, want %q", tc.n, tc.home, got, tc.want)
		}
		if keeps := tc.n.Keeps(tc.home); keeps != (tc.want == "") {
			t.Errorf("%+v Keeps(%q) = %v", tc.n, tc.home, keeps)
		}
	}
}

func TestUploadable(t *testing.T) {
	if !Uploadable("", false) || !Uploadable("directRouting", false) {
		t.Error("local calls are not uploaded")
	}
	if Uploadable(ViaCloud, false) || Uploadable("", true) {
		t.Error("calls the cloud saw are uploaded")
	}
}

func TestMonitor(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	m := NewMonitor(6*time.Second, t0)
	if m.Mode() != ModeConnecting {
		t.Fatalf("initial mode %s", m.Mode())
	}
	if mode, changed := m.Evaluate(t0.Add(5 * time.Second)); changed || mode != ModeConnecting {
		t.Errorf("5 s without contact: %s %v", mode, changed)
	}
	if changed, was := m.Contact(t0.Add(5 * time.Second)); !changed || was != ModeConnecting {
		t.Errorf("contact: changed %v was %s", changed, was)
	}
	if mode, changed := m.Evaluate(t0.Add(10 * time.Second)); changed || mode != ModeConnected {
		t.Errorf("5 s after contact: %s %v", mode, changed)
	}
	if mode, changed := m.Evaluate(t0.Add(11 * time.Second)); !changed || mode != ModeSurvivable {
		t.Errorf("6 s after contact: %s %v", mode, changed)
	}
	if _, changed := m.Evaluate(t0.Add(20 * time.Second)); changed {
		t.Error("survivable reported twice")
	}
	// A contact older than the last one does not move time backwards.
	if changed, was := m.Contact(t0.Add(21 * time.Second)); !changed || was != ModeSurvivable {
		t.Errorf("reconnect: %v %s", changed, was)
	}
	m.Contact(t0.Add(1 * time.Second))
	if !m.LastContact().Equal(t0.Add(21 * time.Second)) {
		t.Errorf("last contact %v", m.LastContact())
	}
	if NewMonitor(0, t0).lossAfter != LossAfter {
		t.Error("default loss delay")
	}
}

func TestStatusOf(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		last time.Time
		want string
	}{{time.Time{}, StatusUnknown}, {now.Add(-2 * time.Second), StatusConnected},
		{now.Add(-StaleAfter), StatusConnected}, {now.Add(-StaleAfter - time.Second), StatusSurvivable}} {
		if got := StatusOf(tc.last, now); got != tc.want {
			t.Errorf("StatusOf(%v) = %s, want %s", tc.last, got, tc.want)
		}
	}
}

func TestSnapshotIsCanonicalAndRoundTrips(t *testing.T) {
	cred := func(alg, ha1 string) pbx.Credential {
		return pbx.Credential{Realm: "contoso.com", Username: "bob", Algorithm: alg, HA1: ha1}
	}
	users := []pbx.User{
		{Tenant: "contoso", SIPAddress: "bob@contoso.com", Home: "redmond", Credentials: []pbx.Credential{cred("SHA-256", "b"), cred("MD5", "a")}},
		{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001"},
		{Tenant: "fabrikam", SIPAddress: "zoe@fabrikam.com"},
	}
	objs := []pbx.Object{
		{Tenant: "contoso", Kind: "pstnGateways", Name: "sbc1.contoso.com", Spec: json.RawMessage(`{"fqdn": "sbc1.contoso.com"}`)},
		{Tenant: "contoso", Kind: "edges", Name: "redmond", Spec: json.RawMessage(`{"name":"redmond"}`)},
		{Tenant: "fabrikam", Kind: "edges", Name: "x", Spec: json.RawMessage(`{}`)},
	}
	tenant := pbx.Tenant{Name: "contoso", Domains: []string{"contoso.com", "a.contoso.com"}}
	s1 := NewSnapshot(tenant, users, objs)
	// Same rows in another order: same bytes.
	s2 := NewSnapshot(tenant, []pbx.User{users[2], users[1], users[0]}, []pbx.Object{objs[1], objs[2], objs[0]})
	b1, e1, err := s1.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b2, e2, _ := s2.Encode()
	if string(b1) != string(b2) || e1 != e2 || len(e1) != 34 {
		t.Fatalf("not canonical:\n%s\n%s\n%s %s", b1, b2, e1, e2)
	}
	if len(s1.Users) != 2 || len(s1.Objects) != 2 || s1.Users[0].SIPAddress != "alice@contoso.com" {
		t.Fatalf("other tenants leak or order wrong: %+v", s1)
	}
	var back Snapshot
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatal(err)
	}
	if msg := back.Check("contoso"); msg != "" {
		t.Fatal(msg)
	}
	if msg := back.Check("fabrikam"); msg == "" {
		t.Error("a snapshot of contoso passes as fabrikam")
	}
	su := back.StoreUsers()
	if len(su[1].Credentials) != 2 || su[1].Credentials[0].Algorithm != "MD5" || su[1].Home != "redmond" || su[1].Tenant != "contoso" {
		t.Errorf("credentials or settings lost: %+v", su[1])
	}
	// Changing a HA1 changes the ETag.
	users[0].Credentials[0].HA1 = "c"
	if _, e3, _ := NewSnapshot(tenant, users, objs).Encode(); e3 == e1 {
		t.Error("a credential change keeps the ETag")
	}
	bad := back
	bad.Objects = append(bad.Objects, pbx.Object{Tenant: "fabrikam", Kind: "edges", Name: "x"})
	if bad.Check("contoso") == "" {
		t.Error("an object of another tenant passes")
	}
}
