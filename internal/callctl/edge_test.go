package callctl

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// fakePlacer sends bob over the trunk, refuses carol and leaves alice alone.
type fakePlacer struct{ seen []string }

func (p *fakePlacer) Place(req InviteRequest, callee *pbx.User) (Route, bool) {
	if callee == nil {
		return Route{}, false
	}
	p.seen = append(p.seen, req.FromTrunk+">"+callee.SIPAddress)
	switch callee.SIPAddress {
	case "bob@contoso.com":
		return Route{Kind: KindPSTN, Number: callee.SIPAddress, Via: "edge",
			Gateways: []TrunkTarget{{Key: "hybrid:contoso/redmond", FQDN: "contoso.com", Address: "127.0.0.1:5090",
				Transport: "udp", Called: "bob", Peer: true}}}, true
	case "carol@contoso.com":
		return Route{Kind: KindRejected, Code: 480, Reason: "Home Node Unreachable"}, true
	}
	return Route{}, false
}

// routeTo resolves "2002" to bob through the router (a dial plan).
type routeTo struct{ u *pbx.User }

func (r routeTo) Route(*pbx.User, string) Route { return Route{Kind: KindUser, User: r.u} }

func placerRig(t *testing.T, target string, devices map[string][]pbx.Binding) (*rig, *fakePlacer) {
	t.Helper()
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001"}
	bob := pbx.User{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002", Home: "redmond"}
	carol := pbx.User{Tenant: "contoso", SIPAddress: "carol@contoso.com", Extension: "1003"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice, bob, carol})
	p := &fakePlacer{}
	r := &rig{in: &fakeIn{}, d: &fakeDialer{}, rec: &fakeRec{}}
	r.e = NewEngine(Config{RingTimeout: time.Hour}, Deps{Directory: func() *directory.Directory { return dir },
		Locator: fakeLoc(devices), Dialer: r.d, Media: fakeMedia{}, Recorder: r.rec, Placer: p, Router: routeTo{&bob}})
	r.ev = r.e.Invite(context.Background(), InviteRequest{CallID: "c1", Caller: &alice, Target: target, SDP: []byte("v=0")}, r.in)
	return r, p
}

func TestPlacerSendsARemoteUserOverTheTrunk(t *testing.T) {
	for _, target := range []string{"1002", "2002"} { // by extension; through the router
		r, p := placerRig(t, target, nil) // bob has no device here: not needed
		waitFor(t, "trunk leg", func() bool { return r.d.out(0) != nil })
		o := r.d.out(0)
		if o.dial.Trunk == nil || !o.dial.Trunk.Peer || o.dial.Trunk.Called != "bob" || o.dial.Callee != nil {
			t.Fatalf("%s: dial %+v", target, o.dial)
		}
		if len(p.seen) == 0 || p.seen[len(p.seen)-1] != ">bob@contoso.com" {
			t.Errorf("%s: placer saw %v", target, p.seen)
		}
		o.ev.Answered([]byte("v=0"))
		waitFor(t, "answer", func() bool { return r.in.has("answer") })
		r.ev.Bye()
		c := r.cdr(t)
		if c.Result != pbx.ResultAnswered || c.Callee != "bob@contoso.com" || c.Via != "edge" {
			t.Errorf("%s: cdr %+v", target, c)
		}
	}
}

func TestPlacerRefusalAndLocalUsers(t *testing.T) {
	r, _ := placerRig(t, "1003", nil)
	if r.ev != nil || !r.in.has("reject 480") || r.d.out(0) != nil {
		t.Fatalf("refused placement: log %v", r.in.log)
	}
	if c := r.cdr(t); c.Cause != 480 || c.Result != pbx.ResultUnavailable {
		t.Errorf("cdr %+v", c)
	}
	dev := map[string][]pbx.Binding{"alice@contoso.com": {{AOR: "alice@contoso.com", Contact: "sip:alice@127.0.0.1:7000"}}}
	r, _ = placerRig(t, "1001", dev)
	waitFor(t, "device leg", func() bool { return r.d.out(0) != nil })
	if o := r.d.out(0); o.dial.Trunk != nil || o.dial.Target.Contact != "sip:alice@127.0.0.1:7000" {
		t.Fatalf("local user not forked to her device: %+v", o.dial)
	}
}
