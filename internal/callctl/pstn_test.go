package callctl

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

type fakeRouter struct{ r Route }

func (f fakeRouter) Route(*pbx.User, string) Route { return f.r }

type fakeTrunks struct {
	mu       sync.Mutex
	outcomes []string
	sessions map[string]int
}

func (f *fakeTrunks) CallOutcome(key string, code int) {
	f.mu.Lock()
	f.outcomes = append(f.outcomes, fmt.Sprint(key, " ", code))
	f.mu.Unlock()
}
func (f *fakeTrunks) SessionStart(t TrunkTarget) bool {
	f.mu.Lock()
	f.sessions[t.Key]++
	f.mu.Unlock()
	return true
}
func (f *fakeTrunks) SessionEnd(key string) { f.mu.Lock(); f.sessions[key]--; f.mu.Unlock() }
func (f *fakeTrunks) open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.sessions {
		n += v
	}
	return n
}

func pstnRig(t *testing.T, kind RouteKind, failoverTime time.Duration) (*rig, *fakeTrunks) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001", LineURI: "+14255550101"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	var gws []TrunkTarget
	for i := 1; i <= 3; i++ {
		gws = append(gws, TrunkTarget{Key: fmt.Sprintf("sbc%d", i), FQDN: fmt.Sprintf("sbc%d.contoso.com", i),
			Called: "+14255550199", Calling: "+14255550101", FailoverTime: failoverTime})
	}
	tr := &fakeTrunks{sessions: map[string]int{}}
	r := &rig{in: &fakeIn{}, d: &fakeDialer{}, rec: &fakeRec{}}
	r.e = NewEngine(Config{RingTimeout: time.Hour}, Deps{Directory: func() *directory.Directory { return dir },
		Locator: fakeLoc{}, Dialer: r.d, Media: fakeMedia{}, Recorder: r.rec, Trunks: tr,
		Router: fakeRouter{Route{Kind: kind, Number: "+14255550199", Gateways: gws}}})
	r.ev = r.e.Invite(context.Background(), InviteRequest{CallID: "c1", Caller: &alice, Target: "5550199", SDP: []byte("v=0")}, r.in)
	return r, tr
}

func TestFailoverOn503(t *testing.T) {
	r, tr := pstnRig(t, KindPSTN, 0)
	waitFor(t, "sbc1", func() bool { return r.d.out(0) != nil })
	if d := r.d.out(0).dial; d.Trunk == nil || d.Trunk.Key != "sbc1" || d.From.User != "+14255550101" {
		t.Fatalf("first dial %+v", d)
	}
	r.d.out(0).ev.Failed(503, "Service Unavailable")
	waitFor(t, "sbc2", func() bool { return r.d.out(1) != nil })
	if r.d.out(1).dial.Trunk.Key != "sbc2" {
		t.Fatalf("second dial to %s", r.d.out(1).dial.Trunk.Key)
	}
	r.d.out(1).ev.Provisional(180, "Ringing", nil)
	r.d.out(1).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	if r.in.has("progress 503") {
		t.Fatal("failed attempt leaked to the caller")
	}
	r.ev.Bye()
	c := r.cdr(t)
	if c.Result != pbx.ResultAnswered || c.Callee != "+14255550199" {
		t.Fatalf("cdr %+v", c)
	}
	waitFor(t, "sessions closed", func() bool { return tr.open() == 0 })
}

func TestNoFailoverOn486OrAfterRinging(t *testing.T) {
	r, _ := pstnRig(t, KindPSTN, 0)
	waitFor(t, "sbc1", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Failed(486, "Busy Here")
	if c := r.cdr(t); c.Cause != 486 || r.d.out(1) != nil {
		t.Fatalf("cdr %+v, second dial %v", c, r.d.out(1) != nil)
	}

	r, _ = pstnRig(t, KindPSTN, 0)
	waitFor(t, "sbc1", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Provisional(180, "Ringing", nil)
	r.d.out(0).ev.Failed(503, "Service Unavailable")
	if c := r.cdr(t); c.Cause != 503 || r.d.out(1) != nil {
		t.Fatalf("failover after ringing: cdr %+v", c)
	}
}

func TestFailoverTimeout(t *testing.T) {
	r, tr := pstnRig(t, KindPSTN, 20*time.Millisecond)
	waitFor(t, "sbc2 after timeout", func() bool { return r.d.out(1) != nil })
	if !r.d.out(0).has("cancel") {
		t.Fatal("silent gateway not cancelled")
	}
	waitFor(t, "sbc3 after timeout", func() bool { return r.d.out(2) != nil })
	c := r.cdr(t)
	if c.Cause != 503 || !r.in.has("reject 503") {
		t.Fatalf("all gateways silent: cdr %+v log %v", c, r.in.log)
	}
	waitFor(t, "sessions closed", func() bool { return tr.open() == 0 })
}

func TestAllGatewaysFail(t *testing.T) {
	r, tr := pstnRig(t, KindEmergency, 0)
	for i := range 3 {
		waitFor(t, "dial", func() bool { return r.d.out(i) != nil })
		r.d.out(i).ev.Failed(504, "Server Time-out")
	}
	c := r.cdr(t)
	if c.Cause != 504 || !c.Emergency {
		t.Fatalf("cdr %+v", c)
	}
	if tr.open() != 0 {
		t.Fatal("sessions left open")
	}
}

func TestRejectedRoute(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	rec := &fakeRec{}
	in := &fakeIn{}
	e := NewEngine(Config{}, Deps{Directory: func() *directory.Directory { return dir }, Locator: fakeLoc{},
		Dialer: &fakeDialer{}, Media: fakeMedia{}, Recorder: rec,
		Router: fakeRouter{Route{Kind: KindRejected, Code: 403, Reason: "No Matching Voice Route"}}})
	if ev := e.Invite(context.Background(), InviteRequest{CallID: "x", Caller: &alice, Target: "+4420"}, in); ev != nil {
		t.Fatal("rejected route returned a call")
	}
	if !in.has("reject 403") {
		t.Fatalf("log %v", in.log)
	}
}

func TestMaxDurationHangsUp(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", LineURI: "+14255550101"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	rec, in, d := &fakeRec{}, &fakeIn{}, &fakeDialer{}
	e := NewEngine(Config{}, Deps{Directory: func() *directory.Directory { return dir }, Locator: fakeLoc{},
		Dialer: d, Media: fakeMedia{}, Recorder: rec,
		Router: fakeRouter{Route{Kind: KindPSTN, Number: "+442071234567", Via: "callingPlan",
			MaxDuration: 30 * time.Millisecond, Gateways: []TrunkTarget{{Key: "carrier-a"}}}}})
	e.Invite(context.Background(), InviteRequest{CallID: "x", Caller: &alice, Target: "+442071234567"}, in)
	waitFor(t, "dial", func() bool { return d.out(0) != nil })
	d.out(0).ev.Answered(nil)
	waitFor(t, "cdr", func() bool { _, ok := rec.last(); return ok })
	// The BYEs go out on their own goroutines, around the CDR.
	waitFor(t, "bye both ways", func() bool { return in.has("bye") && d.out(0).has("bye") })
	c, _ := rec.last()
	if c.HangupBy != pbx.PartySystem || c.Via != "callingPlan" {
		t.Fatalf("cdr %+v", c)
	}
}

func TestUserPSTNCallLimit(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", LineURI: "+14255550101"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	rec, d := &fakeRec{}, &fakeDialer{}
	route := Route{Kind: KindPSTN, Via: "directRouting", Number: "+14255550199", Gateways: []TrunkTarget{{Key: "sbc1"}}}
	router := &fakeRouter{route}
	e := NewEngine(Config{MaxUserPSTNCalls: 2}, Deps{Directory: func() *directory.Directory { return dir },
		Locator: fakeLoc{}, Dialer: d, Media: fakeMedia{}, Recorder: rec, Router: router})
	var ins []*fakeIn
	for i := range 3 {
		in := &fakeIn{}
		ins = append(ins, in)
		e.Invite(context.Background(), InviteRequest{CallID: fmt.Sprint("c", i), Caller: &alice, Target: "5550199"}, in)
	}
	if !ins[2].has("reject 403") || ins[0].has("reject 403") || ins[1].has("reject 403") {
		t.Fatalf("third call not refused: %v %v %v", ins[0].log, ins[1].log, ins[2].log)
	}
	// Emergency calls are never refused by the limit.
	router.r = Route{Kind: KindEmergency, Via: "directRouting", Number: "911", Gateways: []TrunkTarget{{Key: "sbc1"}}}
	em := &fakeIn{}
	e.Invite(context.Background(), InviteRequest{CallID: "e", Caller: &alice, Target: "911"}, em)
	if em.has("reject 403") {
		t.Fatal("emergency call refused by the PSTN call limit")
	}
	// When a call ends, the user may call again.
	waitFor(t, "dials", func() bool { return d.out(2) != nil })
	for i := range 3 { // dials run on each call's own loop, in any order
		if o := d.out(i); o.dial.CallID == "c0" {
			o.ev.Failed(486, "Busy Here")
		}
	}
	waitFor(t, "first call ended", func() bool { return ins[0].has("reject 486") })
	router.r = route
	again := &fakeIn{}
	waitFor(t, "slot freed", func() bool {
		e.pstnMu.Lock()
		defer e.pstnMu.Unlock()
		return e.pstn["alice@contoso.com"] == 1
	})
	e.Invite(context.Background(), InviteRequest{CallID: "c4", Caller: &alice, Target: "5550199"}, again)
	if again.has("reject 403") {
		t.Fatal("limit not released after a call ended")
	}
}
