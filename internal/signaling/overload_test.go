package signaling

import (
	"log/slog"
	"testing"

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

// TestOverloadHysteresis: shedding starts at shedAbove, lasts down to
// shedBelow, and a reading of -1 (none) changes nothing.
func TestOverloadHysteresis(t *testing.T) {
	o := overload{log: slog.New(slog.DiscardHandler)}
	steps := []struct {
		fill int
		want bool
	}{{0, false}, {shedAbove - 1, false}, {shedAbove, true}, {-1, true}, {shedBelow + 1, true}, {shedBelow, false}, {-1, false}}
	for _, st := range steps {
		o.observe(st.fill)
		if got := o.shedding.Load(); got != st.want {
			t.Fatalf("after %d‰: shedding %v, want %v", st.fill, got, st.want)
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
