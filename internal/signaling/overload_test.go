package signaling

import (
	"log/slog"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestFrontShedsNewCallsOnly: while the front is overloaded a new INVITE
// is answered 503 with a Retry-After (and its ACK absorbed), and so is a
// new registration — a REGISTER without credentials, whose retransmission
// gets the same 503 — while a REGISTER with credentials is handled; once
// it has caught up the INVITE and the new registration are handled again
// (challenges).
func TestFrontShedsNewCallsOnly(t *testing.T) {
	s, phone, _ := frontServer(t)
	never := -1 // the readers' readings of the empty buffer must not end it
	s.udp.load.floor.Store(&never)
	s.udp.load.shedding.Store(true)
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-shed1", ""))
	res, raw := recvResponse(t, phone)
	if res.StatusCode != 503 {
		t.Fatalf("overloaded: want 503 to a new INVITE, got %d:\n%s", res.StatusCode, raw)
	}
	if h := res.GetHeader("Retry-After"); h == nil || h.Value() != shedRetryAfter {
		t.Errorf("503 without Retry-After: %s:\n%s", shedRetryAfter, raw)
	}
	tag, _ := res.To().Params.Get("tag")
	sendTo(t, phone, s, inviteMsg(phone, "ACK", "z9hG4bK-shed1", tag))
	if got := s.udp.load.refused.Load(); got != 1 {
		t.Errorf("refused %d calls, want 1", got)
	}

	first := frontRegister(phone, "z9hG4bK-shed-reg", 1, "")
	sendTo(t, phone, s, first)
	res, raw = recvResponse(t, phone)
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Fatalf("overloaded: want 503 with Retry-After to a new registration, got %d:\n%s", res.StatusCode, raw)
	}
	sendTo(t, phone, s, first) // its retransmission: the same answer, not handled again
	if _, again := recvResponse(t, phone); string(again) != string(raw) {
		t.Errorf("retransmission answered %q, first %q", again, raw)
	}
	if got := s.udp.load.refusedRegisters.Load(); got != 1 {
		t.Errorf("refused %d registrations, want 1", got)
	}
	creds := `Digest username="alice",realm="contoso.com",nonce="x",uri="sip:contoso.com",response="0"`
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-shed-reg2", 2, creds))
	if res, raw := recvResponse(t, phone); res.StatusCode != 401 {
		t.Fatalf("overloaded: a REGISTER with credentials is handled (challenged anew here), got %d:\n%s", res.StatusCode, raw)
	}
	if raw := recvRaw(t, phone, 3*sip.T1/2); raw != nil { // the 503 was ACKed: no Timer G
		t.Fatalf("after the ACK: %q", raw)
	}

	s.udp.load.floor.Store(nil)
	s.udp.load.observe(shedBelow)
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-shed2", ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 401 && res.StatusCode != 407 {
		t.Fatalf("caught up: want the INVITE challenged, got %d:\n%s", res.StatusCode, raw)
	}
	sendTo(t, phone, s, frontRegister(phone, "z9hG4bK-shed-reg3", 3, ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 401 {
		t.Fatalf("caught up: want the REGISTER challenged, got %d:\n%s", res.StatusCode, raw)
	}
}

// TestOverloadHysteresis: shedding starts at shedNow at once, or at
// shedAbove held for shedConfirm — a brief spike above it does not shed —,
// lasts down to shedBelow, and a reading of -1 (none) changes nothing.
func TestOverloadHysteresis(t *testing.T) {
	now := time.Unix(1000, 0)
	o := overload{log: slog.New(slog.DiscardHandler), clock: func() time.Time { return now }}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	steps := []struct {
		after time.Duration // since the previous reading
		fill  int
		want  bool
	}{
		{0, 0, false}, {0, shedAbove - 1, false},
		{ms(1), shedAbove, false}, {ms(30), shedNow - 1, false}, {ms(30), shedAbove - 1, false}, // a spike: gone in 61 ms
		{ms(1), shedAbove, false}, {ms(30), -1, false}, {ms(19), shedAbove, false}, {ms(1), shedAbove + 1, true}, // held for 50 ms
		{0, -1, true}, {ms(5), shedBelow + 1, true}, {0, shedBelow, false}, {0, -1, false},
		{ms(1), shedNow, true}, {0, shedAbove, true}, {0, 0, false}, // three quarters sheds at once
		{ms(100), shedAbove, false}, // the earlier spell is not held against a new one
	}
	for i, st := range steps {
		now = now.Add(st.after)
		o.observe(st.fill)
		if got := o.shedding.Load(); got != st.want {
			t.Fatalf("step %d, %d‰: shedding %v, want %v", i, st.fill, got, st.want)
		}
	}
	if !o.probe(shedProbeEvery) || o.probe(1) {
		t.Error("not shedding: probe every shedProbeEvery-th datagram only")
	}
	o.shedding.Store(true)
	if !o.probe(1) {
		t.Error("shedding: probe every datagram")
	}
}
