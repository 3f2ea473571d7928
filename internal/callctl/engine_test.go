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

type fakeIn struct {
	mu       sync.Mutex
	log      []string
	released bool
}

func (f *fakeIn) add(s string) { f.mu.Lock(); f.log = append(f.log, s); f.mu.Unlock() }
func (f *fakeIn) Progress(code int, _ string, _ []byte) error {
	f.add(fmt.Sprint("progress ", code))
	return nil
}
func (f *fakeIn) Answer([]byte) error             { f.add("answer"); return nil }
func (f *fakeIn) Reject(code int, _ string) error { f.add(fmt.Sprint("reject ", code)); return nil }
func (f *fakeIn) Bye() error                      { f.add("bye"); return nil }
func (f *fakeIn) ReInvite([]byte) (int, []byte, error) {
	f.add("reinvite")
	return 200, []byte("v=0"), nil
}
func (f *fakeIn) Release() { f.mu.Lock(); f.released = true; f.mu.Unlock() }
func (f *fakeIn) has(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.log {
		if l == s {
			return true
		}
	}
	return false
}

type fakeOut struct {
	mu   sync.Mutex
	ev   LegEvents
	dial Dial
	log  []string
}

func (o *fakeOut) add(s string) { o.mu.Lock(); o.log = append(o.log, s); o.mu.Unlock() }
func (o *fakeOut) Cancel()      { o.add("cancel") }
func (o *fakeOut) Bye() error   { o.add("bye"); return nil }
func (o *fakeOut) ReInvite([]byte) (int, []byte, error) {
	o.add("reinvite")
	return 200, []byte("v=0"), nil
}
func (o *fakeOut) Release() { o.add("release") }
func (o *fakeOut) has(s string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.log {
		if l == s {
			return true
		}
	}
	return false
}

type fakeDialer struct {
	mu   sync.Mutex
	outs []*fakeOut
}

func (d *fakeDialer) Dial(_ context.Context, dl Dial, ev LegEvents) (Outbound, error) {
	o := &fakeOut{ev: ev, dial: dl}
	d.mu.Lock()
	d.outs = append(d.outs, o)
	d.mu.Unlock()
	return o, nil
}

func (d *fakeDialer) out(i int) *fakeOut {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i < len(d.outs) {
		return d.outs[i]
	}
	return nil
}

type fakeMedia struct{}
type fakeSession struct{}

func (fakeMedia) NewSession(string) (MediaSession, error)    { return fakeSession{}, nil }
func (fakeSession) Rewrite(_ bool, b []byte) ([]byte, error) { return b, nil }
func (fakeSession) Close()                                   {}

type fakeLoc map[string][]pbx.Binding

func (l fakeLoc) Lookup(aor string) []pbx.Binding { return l[aor] }

type fakeRec struct {
	mu   sync.Mutex
	cdrs []pbx.CDR
}

func (r *fakeRec) Record(c pbx.CDR) { r.mu.Lock(); r.cdrs = append(r.cdrs, c); r.mu.Unlock() }
func (r *fakeRec) last() (pbx.CDR, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cdrs) == 0 {
		return pbx.CDR{}, false
	}
	return r.cdrs[len(r.cdrs)-1], true
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type rig struct {
	e   *Engine
	in  *fakeIn
	d   *fakeDialer
	rec *fakeRec
	ev  InboundEvents
}

func newRig(t *testing.T, devices int, target string) *rig {
	return newRigCtx(t, context.Background(), devices, target)
}

// newRigCtx is newRig with the context the call is started with.
func newRigCtx(t *testing.T, ctx context.Context, devices int, target string) *rig {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001"}
	bob := pbx.User{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice, bob})
	loc := fakeLoc{}
	for i := 0; i < devices; i++ {
		loc["bob@contoso.com"] = append(loc["bob@contoso.com"], pbx.Binding{AOR: "bob@contoso.com",
			Contact: fmt.Sprintf("sip:bob@127.0.0.1:%d", 7000+i)})
	}
	r := &rig{in: &fakeIn{}, d: &fakeDialer{}, rec: &fakeRec{}}
	r.e = NewEngine(Config{RingTimeout: time.Hour}, Deps{Directory: func() *directory.Directory { return dir },
		Locator: loc, Dialer: r.d, Media: fakeMedia{}, Recorder: r.rec})
	r.ev = r.e.Invite(ctx, InviteRequest{CallID: "c1", Caller: &alice, Target: target, SDP: []byte("v=0")}, r.in)
	return r
}

func (r *rig) cdr(t *testing.T) pbx.CDR {
	t.Helper()
	waitFor(t, "cdr", func() bool { _, ok := r.rec.last(); return ok })
	c, _ := r.rec.last()
	return c
}

func TestUnknownTargetIs404(t *testing.T) {
	r := newRig(t, 1, "9999")
	if r.ev != nil || !r.in.has("reject 404") {
		t.Fatalf("log %v", r.in.log)
	}
	if c := r.cdr(t); c.Result != pbx.ResultNotFound || c.Cause != 404 {
		t.Fatalf("cdr %+v", c)
	}
}

func TestNotRegisteredIs480(t *testing.T) {
	r := newRig(t, 0, "1002")
	if !r.in.has("reject 480") {
		t.Fatalf("log %v", r.in.log)
	}
	if c := r.cdr(t); c.Result != pbx.ResultUnavailable || c.Callee != "bob@contoso.com" {
		t.Fatalf("cdr %+v", c)
	}
}

func TestForkAnswerCancelsOthersAndByeFromCaller(t *testing.T) {
	r := newRig(t, 3, "bob@contoso.com")
	waitFor(t, "3 forks", func() bool { return r.d.out(2) != nil })
	r.d.out(1).ev.Provisional(180, "Ringing", nil)
	waitFor(t, "180", func() bool { return r.in.has("progress 180") })
	r.d.out(1).ev.Answered([]byte("v=0"))
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	waitFor(t, "cancel others", func() bool { return r.d.out(0).has("cancel") && r.d.out(2).has("cancel") })
	if r.d.out(1).has("cancel") {
		t.Fatal("winner cancelled")
	}
	r.ev.Bye()
	waitFor(t, "bye to callee", func() bool { return r.d.out(1).has("bye") })
	c := r.cdr(t)
	if c.Result != pbx.ResultAnswered || c.HangupBy != pbx.PartyCaller || c.Answer == nil {
		t.Fatalf("cdr %+v", c)
	}
	waitFor(t, "no active", func() bool { return r.e.Active() == 0 })
}

func TestByeFromCallee(t *testing.T) {
	r := newRig(t, 1, "1002")
	waitFor(t, "fork", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	r.d.out(0).ev.Bye()
	waitFor(t, "bye to caller", func() bool { return r.in.has("bye") })
	if c := r.cdr(t); c.HangupBy != pbx.PartyCallee {
		t.Fatalf("cdr %+v", c)
	}
}

func TestBestFailure(t *testing.T) {
	cases := []struct {
		codes  []int
		want   int
		result pbx.CallResult
	}{
		{[]int{486}, 486, pbx.ResultBusy},
		{[]int{408, 486}, 486, pbx.ResultBusy},
		{[]int{503, 404}, 404, pbx.ResultRejected},
		{[]int{408, 408}, 480, pbx.ResultUnavailable},
		{[]int{486, 603}, 603, pbx.ResultRejected},
		{[]int{500}, 500, pbx.ResultFailed},
	}
	for _, c := range cases {
		r := newRig(t, len(c.codes), "1002")
		waitFor(t, "forks", func() bool { return r.d.out(len(c.codes)-1) != nil })
		for i, code := range c.codes {
			r.d.out(i).ev.Failed(code, "x")
		}
		got := r.cdr(t)
		if got.Cause != c.want || got.Result != c.result || !r.in.has(fmt.Sprint("reject ", c.want)) {
			t.Errorf("%v: cdr %+v log %v", c.codes, got, r.in.log)
		}
	}
}

func TestCancelBeforeAnswer(t *testing.T) {
	r := newRig(t, 2, "1002")
	waitFor(t, "forks", func() bool { return r.d.out(1) != nil })
	r.ev.Cancel()
	waitFor(t, "cancel forks", func() bool { return r.d.out(0).has("cancel") && r.d.out(1).has("cancel") })
	if c := r.cdr(t); c.Result != pbx.ResultCancelled || c.Cause != 487 || c.HangupBy != pbx.PartyCaller {
		t.Fatalf("cdr %+v", c)
	}
	// A 200 racing the CANCEL is ended with a BYE, not bridged.
	r.d.out(0).ev.Answered(nil)
	if r.in.has("answer") {
		t.Fatal("answered after cancel")
	}
}

func TestReInviteRelayed(t *testing.T) {
	r := newRig(t, 1, "1002")
	waitFor(t, "fork", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	got := make(chan int, 1)
	r.ev.ReInvite([]byte("v=0 hold"), func(code int, _ []byte) { got <- code })
	if code := <-got; code != 200 || !r.d.out(0).has("reinvite") {
		t.Fatalf("code %d", code)
	}
	r.d.out(0).ev.ReInvite([]byte("v=0"), func(code int, _ []byte) { got <- code })
	if code := <-got; code != 200 || !r.in.has("reinvite") {
		t.Fatalf("code %d", code)
	}
}

func TestShutdownHangsUp(t *testing.T) {
	r := newRig(t, 1, "1002")
	waitFor(t, "fork", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.e.Shutdown(ctx)
	if !r.in.has("bye") || !r.d.out(0).has("bye") || r.e.Active() != 0 {
		t.Fatalf("in %v out %v", r.in.log, r.d.out(0).log)
	}
}

// A call started with a context that ends is hung up when it ends; one
// started with context.Background (as signaling does) is not watched at all.
func TestCallContextEndHangsUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRigCtx(t, ctx, 1, "1002")
	waitFor(t, "fork", func() bool { return r.d.out(0) != nil })
	r.d.out(0).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return r.in.has("answer") })
	cancel()
	waitFor(t, "hung up", func() bool { return r.in.has("bye") && r.d.out(0).has("bye") && r.e.Active() == 0 })

	b := newRig(t, 1, "1002")
	waitFor(t, "fork", func() bool { return b.d.out(0) != nil })
	b.e.calls.Range(func(_, v any) bool {
		if v.(*call).stopCtx != nil {
			t.Error("a call started with context.Background is watched")
		}
		return true
	})
}

// A 2xx from a second device after another answered is ended with a BYE and
// its dialog released (no dialog leak when answers cross).
func TestLateAnswerReleased(t *testing.T) {
	r := newRig(t, 2, "1002")
	waitFor(t, "forks", func() bool { return r.d.out(1) != nil })
	r.d.out(0).ev.Answered(nil)
	r.d.out(1).ev.Answered(nil)
	waitFor(t, "late leg ended", func() bool { return r.d.out(1).has("bye") && r.d.out(1).has("release") })
	r.ev.Bye()
	waitFor(t, "winner released", func() bool { return r.d.out(0).has("release") })
}
