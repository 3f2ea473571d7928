package callctl

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// activeMedia is a relayed session whose packet count and hold state the
// test drives.
type activeMedia struct {
	pkts atomic.Uint64
	held atomic.Bool
}

func (m *activeMedia) NewSession(string) (MediaSession, error)  { return m, nil }
func (m *activeMedia) Rewrite(_ bool, b []byte) ([]byte, error) { return b, nil }
func (m *activeMedia) Close()                                   {}
func (m *activeMedia) RTPPackets() uint64                       { return m.pkts.Load() }
func (m *activeMedia) Held() bool                               { return m.held.Load() }

// answeredCall places alice → bob on an engine with cfg and media, and
// answers it.
func answeredCall(t *testing.T, cfg Config, media Media) *rig {
	t.Helper()
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001"}
	bob := pbx.User{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice, bob})
	loc := fakeLoc{"bob@contoso.com": {{AOR: "bob@contoso.com", Contact: "sip:bob@127.0.0.1:7000"}}}
	r := &rig{in: &fakeIn{}, d: &fakeDialer{}, rec: &fakeRec{}}
	cfg.RingTimeout = time.Hour
	r.e = NewEngine(cfg, Deps{Directory: func() *directory.Directory { return dir },
		Locator: loc, Dialer: r.d, Media: media, Recorder: r.rec})
	r.ev = r.e.Invite(context.Background(), InviteRequest{CallID: "c1", Caller: &alice, Target: "1002", SDP: []byte("v=0")}, r.in)
	waitFor(t, "fork", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Answered([]byte("v=0"))
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	return r
}

func checkReleased(t *testing.T, r *rig, reason string) {
	t.Helper()
	c := r.cdr(t)
	if c.Result != pbx.ResultAnswered || c.Cause != 200 || c.HangupBy != pbx.PartySystem || c.EndReason != reason {
		t.Fatalf("cdr %+v, want answered/200 by system, reason %s", c, reason)
	}
	waitFor(t, "bye both legs", func() bool { return r.in.has("bye") && r.d.out(0).has("bye") })
	waitFor(t, "no active", func() bool { return r.e.Active() == 0 })
}

func TestCallerLegExpiryReleasesCall(t *testing.T) {
	r := answeredCall(t, Config{}, fakeMedia{})
	r.ev.Expired(ReasonSessionExpired)
	checkReleased(t, r, ReasonSessionExpired)
}

func TestCalleeLegRefreshFailureReleasesCall(t *testing.T) {
	r := answeredCall(t, Config{}, fakeMedia{})
	r.d.out(0).ev.Expired(ReasonRefreshFailed)
	checkReleased(t, r, ReasonRefreshFailed)
}

func TestExpiryOfLosingForkIsIgnored(t *testing.T) {
	r := newRig(t, 2, "1002")
	waitFor(t, "2 forks", func() bool { return r.d.out(1) != nil })
	r.d.out(0).ev.Answered([]byte("v=0"))
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	r.d.out(1).ev.Expired(ReasonSessionExpired)
	time.Sleep(50 * time.Millisecond)
	if _, ok := r.rec.last(); ok {
		t.Fatal("a losing fork's expiry ended the call")
	}
	r.ev.Bye()
	if c := r.cdr(t); c.HangupBy != pbx.PartyCaller || c.EndReason != "" {
		t.Fatalf("cdr %+v", c)
	}
}

func TestRTPTimeoutReleasesSilentCall(t *testing.T) {
	m := &activeMedia{}
	r := answeredCall(t, Config{RTPTimeout: 200 * time.Millisecond, RTPHoldTimeout: -1}, m)
	start := time.Now()
	checkReleased(t, r, ReasonRTPTimeout)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("released after %v, before the timeout", d)
	}
}

func TestRTPFlowKeepsCallUp(t *testing.T) {
	m := &activeMedia{}
	r := answeredCall(t, Config{RTPTimeout: 200 * time.Millisecond, RTPHoldTimeout: -1}, m)
	stop := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(stop) {
		m.pkts.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := r.rec.last(); ok {
		t.Fatal("call released while RTP flowed")
	}
	// Media stops: released within the timeout (plus a check period).
	checkReleased(t, r, ReasonRTPTimeout)
}

func TestHeldCallUsesHoldTimeout(t *testing.T) {
	m := &activeMedia{}
	m.held.Store(true)
	r := answeredCall(t, Config{RTPTimeout: 100 * time.Millisecond, RTPHoldTimeout: time.Hour}, m)
	time.Sleep(500 * time.Millisecond)
	if _, ok := r.rec.last(); ok {
		t.Fatal("a held call was released after the active-call timeout")
	}
	m.held.Store(false) // resumed, still silent
	checkReleased(t, r, ReasonRTPTimeout)
}

func TestMediaBypassHasNoRTPWatch(t *testing.T) {
	r := answeredCall(t, Config{RTPTimeout: 50 * time.Millisecond}, fakeMedia{}) // no MediaActivity
	time.Sleep(300 * time.Millisecond)
	if _, ok := r.rec.last(); ok {
		t.Fatal("a call without relayed media was released for RTP inactivity")
	}
	r.ev.Bye()
	r.cdr(t)
}
