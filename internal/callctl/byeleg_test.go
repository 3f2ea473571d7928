package callctl

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// thenOut is a leg with ByeThen whose BYE is answered when release closes,
// on a goroutine of its own, as the SIP adapter's is on a front reader.
type thenOut struct {
	*fakeOut
	release chan struct{}
}

func (o thenOut) ByeThen(done func(error)) {
	o.add("byethen")
	go func() {
		<-o.release
		done(nil)
	}()
}

type thenDialer struct {
	fakeDialer
	release chan struct{}
}

func (d *thenDialer) Dial(ctx context.Context, dl Dial, ev LegEvents) (Outbound, error) {
	o, err := d.fakeDialer.Dial(ctx, dl, ev)
	return thenOut{o.(*fakeOut), d.release}, err
}

// TestByeLegUsesByeThen: the callee's leg gets the caller's BYE through
// ByeThen, not Bye on a goroutine, and Shutdown waits for its answer.
func TestByeLegUsesByeThen(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", Extension: "1001"}
	bob := pbx.User{Tenant: "contoso", SIPAddress: "bob@contoso.com", Extension: "1002"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice, bob})
	loc := fakeLoc{"bob@contoso.com": {{AOR: "bob@contoso.com", Contact: "sip:bob@127.0.0.1:7000"}}}
	d := &thenDialer{release: make(chan struct{})}
	in := &fakeIn{}
	e := NewEngine(Config{RingTimeout: time.Hour}, Deps{Directory: func() *directory.Directory { return dir },
		Locator: loc, Dialer: d, Media: fakeMedia{}, Recorder: &fakeRec{}})
	ev := e.Invite(context.Background(), InviteRequest{CallID: "c1", Caller: &alice, Target: "1002", SDP: []byte("v=0")}, in)
	waitFor(t, "fork", func() bool { return d.out(0) != nil })
	d.out(0).ev.Answered([]byte("v=0"))
	waitFor(t, "answer", func() bool { return in.has("answer") })
	ev.Bye()
	waitFor(t, "bye to callee", func() bool { return d.out(0).has("byethen") })
	if d.out(0).has("bye") {
		t.Fatal("the leg has ByeThen, but Bye was called")
	}
	down := make(chan struct{})
	go func() { e.Shutdown(context.Background()); close(down) }()
	select {
	case <-down:
		t.Fatal("Shutdown returned before the BYE was answered")
	case <-time.After(100 * time.Millisecond):
	}
	close(d.release)
	select {
	case <-down:
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown still waiting after the BYE was answered")
	}
}
