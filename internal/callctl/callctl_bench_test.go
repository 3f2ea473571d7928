package callctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Fakes for the benchmark: every leg answers at once and nothing is
// recorded beyond what the benchmark waits for.

type benchIn struct{ answered, done chan struct{} }

func (i *benchIn) Progress(int, string, []byte) error       { return nil }
func (i *benchIn) Answer([]byte) error                      { i.answered <- struct{}{}; return nil }
func (i *benchIn) Reject(int, string) error                 { return nil }
func (i *benchIn) Bye() error                               { return nil }
func (i *benchIn) ReInvite([]byte) (int, []byte, error)     { return 200, nil, nil }
func (i *benchIn) Release()                                 {}
func (o *benchOut) Cancel()                                 {}
func (o *benchOut) Bye() error                              { return nil }
func (o *benchOut) ReInvite([]byte) (int, []byte, error)    { return 200, nil, nil }
func (o *benchOut) Release()                                {}
func (benchMedia) NewSession(string) (MediaSession, error)  { return benchMedia{}, nil }
func (benchMedia) Rewrite(_ bool, b []byte) ([]byte, error) { return b, nil }
func (benchMedia) Close()                                   {}

type benchOut struct{}
type benchMedia struct{}

// benchDialer answers every leg as soon as it is dialled (180 then 200).
type benchDialer struct{}

func (benchDialer) Dial(_ context.Context, d Dial, ev LegEvents) (Outbound, error) {
	ev.Provisional(180, "Ringing", nil)
	ev.Answered(d.SDP)
	return &benchOut{}, nil
}

type benchLoc map[string][]pbx.Binding

func (l benchLoc) Lookup(aor string) []pbx.Binding { return l[aor] }

type benchRec chan pbx.CDR

func (r benchRec) Record(c pbx.CDR) { r <- c }

// BenchmarkCallSetupTeardown is call control's share of one anchored call
// between two users: INVITE → resolve → locate → fork → 180 → 200 (answer
// relayed to the caller) → BYE from the caller → CDR. Signalling and media
// are fakes; what remains is the engine: its goroutine per call, the event
// posts and the bookkeeping. log=info adds the shipped log level (a text
// handler writing to io.Discard): the lines every call writes.
//
// route=pstn is the Direct Routing profile of bench/run.sh: the number
// dialled is not a user, the router (a fake returning a fixed decision)
// sends it to one gateway with media bypass.
func BenchmarkCallSetupTeardown(b *testing.B) {
	info := func() *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	b.Run("log=off", func(b *testing.B) { benchCall(b, nil, false) })
	b.Run("log=info", func(b *testing.B) { benchCall(b, info(), false) })
	b.Run("route=pstn/log=off", func(b *testing.B) { benchCall(b, nil, true) })
	b.Run("route=pstn/log=info", func(b *testing.B) { benchCall(b, info(), true) })
}

// benchRouter sends every call to one gateway with media bypass.
type benchRouter struct{}

func (benchRouter) Route(*pbx.User, string) Route {
	return Route{Kind: KindPSTN, Number: "+14255551234", Via: "directRouting", Gateways: []TrunkTarget{{
		Key: "bench1/sbc.bench1.example.com", FQDN: "sbc.bench1.example.com", Port: 25070, Address: "127.0.0.2:25070",
		Transport: "udp", Called: "+14255551234", Calling: "+14255550001", MediaBypass: true}}}
}

func benchCall(b *testing.B, log *slog.Logger, pstn bool) {
	var users []pbx.User
	for i := 1; i <= 2500; i++ {
		users = append(users, pbx.User{Tenant: "bench1", SIPAddress: fmt.Sprintf("u%05d@bench1.example.com", i),
			Extension: fmt.Sprintf("1%05d", i)})
	}
	dir := directory.Build([]pbx.Tenant{{Name: "bench1", Domains: []string{"bench1.example.com"}}}, users)
	caller, _ := dir.User("u00001@bench1.example.com")
	loc := benchLoc{"u00002@bench1.example.com": {{AOR: "u00002@bench1.example.com",
		Contact: "sip:u00002@127.0.0.1:5070", Source: "127.0.0.1:5070", Transport: "udp"}}}
	rec := make(benchRec, 1)
	deps := Deps{Directory: func() *directory.Directory { return dir }, Locator: loc,
		Dialer: benchDialer{}, Media: benchMedia{}, Recorder: rec, Log: log}
	target := "100002"
	if pstn {
		deps.Router, target = benchRouter{}, "4255551234"
	}
	e := NewEngine(Config{}, deps)
	sdp := []byte("v=0\r\n")
	in := &benchIn{answered: make(chan struct{}, 1)}
	ctx := context.Background()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("%d-1234@127.0.0.1", i)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		ev := e.Invite(ctx, InviteRequest{CallID: ids[i%len(ids)], Caller: caller, Target: target, SDP: sdp}, in)
		if ev == nil {
			b.Fatal("call rejected")
		}
		<-in.answered
		ev.Ack()
		ev.Bye()
		if c := <-rec; c.Result != pbx.ResultAnswered {
			b.Fatalf("result %s", c.Result)
		}
		i++
	}
}
