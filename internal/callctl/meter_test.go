package callctl

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// callRouter records the Call-ID it routes.
type callRouter struct {
	r      Route
	mu     sync.Mutex
	callID string
}

func (c *callRouter) Route(*pbx.User, string) Route { return Route{Kind: KindRejected, Code: 500} }
func (c *callRouter) RouteCall(id string, _ *pbx.User, _ string) Route {
	c.mu.Lock()
	c.callID = id
	c.mu.Unlock()
	return c.r
}

// TestGrantMetersAnsweredCall: the meter is asked at answer and each time
// its grant runs out; the call is released when it grants nothing.
func TestGrantMetersAnsweredCall(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com", LineURI: "+14255550101"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	var mu sync.Mutex
	grants := 0
	grant := func() time.Duration {
		mu.Lock()
		defer mu.Unlock()
		grants++
		if grants <= 3 {
			return 10 * time.Millisecond
		}
		return 0
	}
	router := &callRouter{r: Route{Kind: KindPSTN, Number: "+442071234567", Via: "callingPlan", Grant: grant,
		Gateways: []TrunkTarget{{Key: "carrier/a"}}}}
	rec, in, d := &fakeRec{}, &fakeIn{}, &fakeDialer{}
	e := NewEngine(Config{}, Deps{Directory: func() *directory.Directory { return dir }, Locator: fakeLoc{},
		Dialer: d, Media: fakeMedia{}, Recorder: rec, Router: router})
	e.Invite(context.Background(), InviteRequest{CallID: "call-7", Caller: &alice, Target: "+442071234567"}, in)
	waitFor(t, "dial", func() bool { return d.out(0) != nil })
	mu.Lock()
	if grants != 0 {
		t.Fatal("granted before answer")
	}
	mu.Unlock()
	d.out(0).ev.Answered(nil)
	waitFor(t, "cdr", func() bool { _, ok := rec.last(); return ok })
	// The BYEs go out on their own goroutines, around the CDR.
	waitFor(t, "bye both ways", func() bool { return in.has("bye") && d.out(0).has("bye") })
	c, _ := rec.last()
	mu.Lock()
	defer mu.Unlock()
	if grants != 4 || c.HangupBy != pbx.PartySystem || c.Result != pbx.ResultAnswered {
		t.Fatalf("grants %d, cdr %+v", grants, c)
	}
	if router.callID != "call-7" {
		t.Fatalf("RouteCall got Call-ID %q", router.callID)
	}
}

// TestGrantStopsWithCall: a call that ends first is not asked again.
func TestGrantStopsWithCall(t *testing.T) {
	alice := pbx.User{Tenant: "contoso", SIPAddress: "alice@contoso.com"}
	dir := directory.Build([]pbx.Tenant{{Name: "contoso", Domains: []string{"contoso.com"}}}, []pbx.User{alice})
	var mu sync.Mutex
	grants := 0
	router := &callRouter{r: Route{Kind: KindPSTN, Number: "+12065550100", Gateways: []TrunkTarget{{Key: "carrier/a"}},
		Grant: func() time.Duration { mu.Lock(); grants++; mu.Unlock(); return time.Hour }}}
	rec, in, d := &fakeRec{}, &fakeIn{}, &fakeDialer{}
	e := NewEngine(Config{}, Deps{Directory: func() *directory.Directory { return dir }, Locator: fakeLoc{},
		Dialer: d, Media: fakeMedia{}, Recorder: rec, Router: router})
	ev := e.Invite(context.Background(), InviteRequest{CallID: "x", Caller: &alice, Target: "+12065550100"}, in)
	waitFor(t, "dial", func() bool { return d.out(0) != nil })
	d.out(0).ev.Answered(nil)
	waitFor(t, "answer", func() bool { return in.has("answer") })
	ev.Bye()
	waitFor(t, "cdr", func() bool { _, ok := rec.last(); return ok })
	mu.Lock()
	defer mu.Unlock()
	if grants != 1 {
		t.Fatalf("%d grants for a call ended in its first period", grants)
	}
}
