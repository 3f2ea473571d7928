package signaling

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// startHeldInvite hands a new INVITE of branch to the front with a handler
// that does what serveInvite does with the transaction (keeps it, queues
// its 100) and then answer, and returns the transaction.
func startHeldInvite(t *testing.T, s *Server, phone *net.UDPConn, branch string, answer func(*sip.Request, sip.ServerTransaction)) *inviteTx {
	t.Helper()
	req, err := sip.ParseMessage([]byte(inviteMsg(phone, "INVITE", branch, "")))
	if err != nil {
		t.Fatal(err)
	}
	from := phone.LocalAddr().(*net.UDPAddr).AddrPort()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	var held *inviteTx
	s.udp.invite(req.(*sip.Request), branch+" "+from.String(), from, func(r *sip.Request, tx sip.ServerTransaction) {
		held, _ = frontInvite(tx)
		held.keep()
		held.tryingLater()
		if answer != nil {
			answer(r, tx)
		}
	})
	return held
}

// TestTryingDroppedWhenAnswered: a call answered before its 100 is due
// never sends the 100.
func TestTryingDroppedWhenAnswered(t *testing.T) {
	s, phone, _ := frontServer(t)
	startHeldInvite(t, s, phone, "z9hG4bK-try1", func(r *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(responseTo(r, 180, "Ringing"))
	})
	if res, raw := recvResponse(t, phone); res.StatusCode != 180 {
		t.Fatalf("want 180, got\n%s", raw)
	}
	if raw := recvRaw(t, phone, tryingDelay+3*tryingTick); raw != nil {
		t.Fatalf("after the 180, want nothing, got\n%s", raw)
	}
}

// TestTryingSentWhenSlow: a call with no answer gets its 100 once it is
// due (RFC 3261 §17.2.1: within 200 ms), the 180 after it, and a
// retransmitted INVITE the last of them.
func TestTryingSentWhenSlow(t *testing.T) {
	s, phone, _ := frontServer(t)
	start := time.Now()
	tx := startHeldInvite(t, s, phone, "z9hG4bK-try2", nil)
	res, raw := recvResponse(t, phone)
	if res.StatusCode != 100 {
		t.Fatalf("want 100, got\n%s", raw)
	}
	if waited := time.Since(start); waited < tryingDelay {
		t.Fatalf("100 after %v, before it was due (%v)", waited, tryingDelay)
	}
	if res.To().Params.Has("tag") || res.GetHeader("Server") == nil {
		t.Errorf("100 Trying with a To-tag or without our Server header:\n%s", raw)
	}
	tx.mu.Lock()
	req := tx.req
	tx.mu.Unlock()
	_ = tx.Respond(responseTo(req, 180, "Ringing"))
	if res, raw := recvResponse(t, phone); res.StatusCode != 180 {
		t.Fatalf("want 180, got\n%s", raw)
	}
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-try2", ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 180 {
		t.Fatalf("retransmitted INVITE: want the 180 again, got\n%s", raw)
	}
}

// TestTryingOnRetransmission: an INVITE retransmitted before its 100 is
// due gets the 100 at once, and only once.
func TestTryingOnRetransmission(t *testing.T) {
	s, phone, _ := frontServer(t)
	startHeldInvite(t, s, phone, "z9hG4bK-try3", nil)
	sendTo(t, phone, s, inviteMsg(phone, "INVITE", "z9hG4bK-try3", ""))
	if res, raw := recvResponse(t, phone); res.StatusCode != 100 {
		t.Fatalf("want 100, got\n%s", raw)
	}
	if raw := recvRaw(t, phone, tryingDelay+3*tryingTick); raw != nil {
		t.Fatalf("a second 100:\n%s", raw)
	}
}

// TestTryingQueueTakesDueInOrder: take returns the due entries only and
// keeps no reference to them.
func TestTryingQueueTakesDueInOrder(t *testing.T) {
	var q tryingQueue
	now := time.Now()
	a, b, c := &inviteTx{}, &inviteTx{}, &inviteTx{}
	q.later(a, now)
	q.later(b, now.Add(10*time.Millisecond))
	q.later(c, now.Add(time.Second))
	got := q.take(now.Add(tryingDelay+10*time.Millisecond), nil)
	if len(got) != 2 || got[0] != a || got[1] != b {
		t.Fatalf("took %v, want a and b", got)
	}
	if len(q.due) != 1 || q.due[0].tx != c {
		t.Fatalf("left %v, want c", q.due)
	}
	if spare := q.due[:cap(q.due)]; spare[1].tx != nil || spare[2].tx != nil {
		t.Fatal("the queue's spare capacity still holds taken transactions")
	}
}
