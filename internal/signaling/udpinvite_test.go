package signaling

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func inviteMsg(phone *net.UDPConn, method, branch, toTag string) string {
	port := itoa(phone.LocalAddr().(*net.UDPAddr).Port)
	to := "<sip:bob@contoso.com>"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	return method + " sip:bob@contoso.com SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:" + port + ";branch=" + branch + ";rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:alice@contoso.com>;tag=f1\r\nTo: " + to + "\r\n" +
		"Call-ID: front-invite-1\r\nCSeq: 1 " + method + "\r\n" +
		"Contact: <sip:alice@127.0.0.1:" + port + ">\r\nContent-Length: 0\r\n\r\n"
}

// TestFrontInviteChallenge: the front's INVITE server transaction answers a
// retransmitted INVITE with the same challenge, retransmits the challenge
// until its ACK (Timer G), and then retires: its record absorbs
// retransmissions for Timer I, and once the record is gone the INVITE is a
// new transaction.
func TestFrontInviteChallenge(t *testing.T) {
	s, phone, _ := frontServer(t)
	invite := inviteMsg(phone, "INVITE", "z9hG4bK-inv1", "")
	sendTo(t, phone, s, invite)
	res, first := recvResponse(t, phone)
	if res.StatusCode != 401 && res.StatusCode != 407 {
		t.Fatalf("want a challenge, got %d:\n%s", res.StatusCode, first)
	}
	if tag, _ := res.To().Params.Get("tag"); tag == "" {
		t.Errorf("challenge without a To-tag:\n%s", first)
	}
	sendTo(t, phone, s, invite) // retransmission: the same bytes, not a new nonce
	if _, again := recvResponse(t, phone); !bytes.Equal(again, first) {
		t.Fatalf("retransmitted INVITE answered differently:\n%s\n---\n%s", first, again)
	}
	// No ACK: Timer G resends the challenge after T1.
	if g := recvRaw(t, phone, 2*sip.T1); !bytes.Equal(g, first) {
		t.Fatalf("Timer G: want the challenge again, got %q", g)
	}
	tag, _ := res.To().Params.Get("tag") // ACK right away: the next Timer G is T1·2 later
	ack := inviteMsg(phone, "ACK", "z9hG4bK-inv1", tag)
	sendTo(t, phone, s, ack)
	if raw := recvRaw(t, phone, 3*sip.T1); raw != nil {
		t.Fatalf("challenge retransmitted after its ACK: %q", raw)
	}
	if n := s.udp.invites.len(); n != 0 {
		t.Fatalf("%d INVITE transactions after the ACK, want 0 (retired)", n)
	}
	// Retired: the record absorbs the INVITE and its ACK, again.
	sendTo(t, phone, s, invite)
	sendTo(t, phone, s, ack)
	if raw := recvRaw(t, phone, 2*sip.T1); raw != nil {
		t.Fatalf("retransmission after the ACK answered: %q", raw)
	}
	if n := s.udp.invites.len(); n != 0 {
		t.Fatalf("%d INVITE transactions after a retransmission, want 0", n)
	}
	for range replayGenerations {
		s.udp.replay.tick()
	}
	sendTo(t, phone, s, invite) // the record is gone: a new transaction
	if res, raw := recvResponse(t, phone); res.StatusCode != 401 && res.StatusCode != 407 {
		t.Fatalf("INVITE after the record: want a challenge, got\n%s", raw)
	}
}

// TestFrontInviteAcceptedRetires: a 2xx retires the transaction at once.
// Its record absorbs retransmitted INVITEs, answers a late CANCEL 200 and
// lets an ACK reusing the branch (RFC 2543) through to the dialog; the
// call still retransmits its 2xx through the transaction.
func TestFrontInviteAcceptedRetires(t *testing.T) {
	s, phone, _ := frontServer(t)
	invite := inviteMsg(phone, "INVITE", "z9hG4bK-inv3", "")
	req, from := phoneRequest(t, phone, invite)
	key := "z9hG4bK-inv3 " + from.String()
	var ftx *inviteTx
	var ok *sip.Response
	s.udp.invite(req, key, from, func(r *sip.Request, tx sip.ServerTransaction) {
		ftx, _ = frontInvite(tx)
		ok = sip.NewResponseFromRequest(r, 200, "OK", nil)
		_ = tx.Respond(ok)
	})
	if res, raw := recvResponse(t, phone); res.StatusCode != 200 {
		t.Fatalf("want 200, got\n%s", raw)
	}
	if n := s.udp.invites.len(); n != 0 {
		t.Fatalf("%d INVITE transactions after the 2xx, want 0 (retired)", n)
	}
	if err := ftx.Respond(ok); err != nil { // the call's retransmission of its 2xx
		t.Fatalf("2xx retransmission through the retired transaction: %v", err)
	}
	if res, raw := recvResponse(t, phone); res.StatusCode != 200 {
		t.Fatalf("want the 200 again, got\n%s", raw)
	}
	sendTo(t, phone, s, invite)
	if raw := recvRaw(t, phone, 2*sip.T1); raw != nil {
		t.Fatalf("retransmitted INVITE after its 2xx answered: %q", raw)
	}
	if n := s.udp.invites.len(); n != 0 {
		t.Fatalf("%d INVITE transactions after a retransmission, want 0", n)
	}
	sendTo(t, phone, s, inviteMsg(phone, "CANCEL", "z9hG4bK-inv3", ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 200 || res.CSeq().MethodName != sip.CANCEL {
		t.Fatalf("late CANCEL: want 200 CANCEL, got\n%s", raw)
	}
	ack, err := sip.ParseMessage([]byte(inviteMsg(phone, "ACK", "z9hG4bK-inv3", "t")))
	if err != nil {
		t.Fatal(err)
	}
	if s.udp.ackOrCancel(ack.(*sip.Request), key, from) {
		t.Fatal("an ACK reusing the branch of an answered INVITE was absorbed, not passed to the dialog")
	}
}

// TestFrontInviteCancel: a CANCEL for a pending INVITE gets its 200, the
// INVITE its 487 (with a To-tag) and the handler hears of it; a CANCEL
// matching nothing goes to sipgo (481).
func TestFrontInviteCancel(t *testing.T) {
	s, phone, _ := frontServer(t)
	req, from := phoneRequest(t, phone, inviteMsg(phone, "INVITE", "z9hG4bK-inv2", ""))
	cancelled := make(chan *sip.Request, 1)
	handled := make(chan struct{})
	s.udp.invite(req, "z9hG4bK-inv2 "+from.String(), from, func(r *sip.Request, tx sip.ServerTransaction) {
		ft, _ := frontInvite(tx)
		ft.keep() // as serveInvite does: the call answers later
		tx.OnCancel(func(c *sip.Request) { cancelled <- c })
		s.respond(r, tx, 180, "Ringing") // written as bytes (answer.go), with the transaction's To-tag
		close(handled)
	})
	<-handled
	res, raw := recvResponse(t, phone)
	if res.StatusCode != 180 {
		t.Fatalf("want 180, got\n%s", raw)
	}
	ringTag, _ := res.To().Params.Get("tag")
	sendTo(t, phone, s, inviteMsg(phone, "CANCEL", "z9hG4bK-inv2", ""))
	codes := map[string]bool{}
	for range 2 {
		res, raw := recvResponse(t, phone)
		codes[itoa(res.StatusCode)+" "+string(res.CSeq().MethodName)] = true
		if res.StatusCode == 487 {
			if tag, _ := res.To().Params.Get("tag"); tag == "" || tag != ringTag {
				t.Errorf("487 with To-tag %q, the 180 had %q:\n%s", tag, ringTag, raw)
			}
		}
	}
	if !codes["200 CANCEL"] || !codes["487 INVITE"] {
		t.Fatalf("want 200 CANCEL and 487 INVITE, got %v", codes)
	}
	select {
	case c := <-cancelled:
		if !c.IsCancel() {
			t.Fatalf("OnCancel got %s", c.Method)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the handler never heard of the CANCEL")
	}
	sendTo(t, phone, s, inviteMsg(phone, "CANCEL", "z9hG4bK-nothing", ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 481 {
		t.Fatalf("unmatched CANCEL: want 481, got\n%s", raw)
	}
}

// phoneRequest parses raw, a request as phone sends it, and gives the
// source address the front sees it from.
func phoneRequest(t *testing.T, phone *net.UDPConn, raw string) (*sip.Request, netip.AddrPort) {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	from := phone.LocalAddr().(*net.UDPAddr).AddrPort()
	return m.(*sip.Request), netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
}

// onlyInvite is a transaction of the table (nil when it has none).
func onlyInvite(tbl *inviteTable) *inviteTx {
	for i := range tbl.shards {
		sh := &tbl.shards[i]
		sh.mu.Lock()
		for _, tx := range sh.m {
			sh.mu.Unlock()
			return tx
		}
		sh.mu.Unlock()
	}
	return nil
}
