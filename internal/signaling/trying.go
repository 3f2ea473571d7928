package signaling

import (
	"sync"
	"time"
)

// The 100 Trying of a new call over the UDP front goes out late, and only
// when it is still needed (ADR 0006, decision 12). RFC 3261 §17.2.1 asks an
// INVITE server transaction for a 100 unless the TU answers within 200 ms;
// its only use is to stop the caller's INVITE retransmissions, the first of
// which comes after T1 (500 ms). A call the far end answers, rings or
// refuses within tryingDelay has had its 100 replaced by that response: a
// datagram, a response to build and a system call saved. A call whose far
// end takes longer gets its 100 between tryingDelay and
// tryingDelay+tryingTick, within the 200 ms; a retransmitted INVITE that
// comes before that gets it at once.
const (
	tryingDelay = 120 * time.Millisecond
	tryingTick  = 40 * time.Millisecond
)

// tryingQueue holds the INVITE transactions waiting for their 100, in the
// order they came, so the due ones are at the front.
type tryingQueue struct {
	mu  sync.Mutex
	due []tryingEntry
}

type tryingEntry struct {
	tx *inviteTx
	at time.Time
}

// later queues tx's 100 for tryingDelay from now.
func (q *tryingQueue) later(tx *inviteTx, now time.Time) {
	q.mu.Lock()
	q.due = append(q.due, tryingEntry{tx: tx, at: now.Add(tryingDelay)})
	q.mu.Unlock()
}

// take removes and returns the transactions due at now.
func (q *tryingQueue) take(now time.Time, out []*inviteTx) []*inviteTx {
	q.mu.Lock()
	n := 0
	for n < len(q.due) && !q.due[n].at.After(now) {
		out = append(out, q.due[n].tx)
		n++
	}
	if n > 0 {
		rest := copy(q.due, q.due[n:])
		clear(q.due[rest:]) // no transaction is held by the spare capacity
		q.due = q.due[:rest]
	}
	q.mu.Unlock()
	return out
}

// tryingLoop sends the due 100s every tryingTick until the front closes.
func (f *udpFront) tryingLoop() {
	t := time.NewTicker(tryingTick)
	defer t.Stop()
	var txs []*inviteTx
	for {
		select {
		case now := <-t.C:
			txs = f.trying.take(now, txs[:0])
			for i, tx := range txs {
				tx.tryingNow()
				txs[i] = nil
			}
		case <-f.closed:
			return
		}
	}
}

// tryingLater gives the transaction's 100 Trying to the front's queue.
func (tx *inviteTx) tryingLater() {
	tx.mu.Lock()
	tx.tryingDue = true
	tx.mu.Unlock()
	tx.f.trying.later(tx, time.Now())
}

// tryingNow sends the 100 if it is still due: no response has gone out
// yet. It is written under the transaction's lock, so that no response
// the call sends meanwhile can be overtaken by it.
func (tx *inviteTx) tryingNow() {
	tx.mu.Lock()
	req, due := tx.req, tx.tryingDue && tx.state == inviteProceeding && tx.last == nil
	tx.mu.Unlock()
	if !due || req == nil {
		return
	}
	b := tx.f.s.trying(req)
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if !tx.tryingDue || tx.state != inviteProceeding || tx.last != nil {
		return // a response overtook it
	}
	tx.tryingDue, tx.last = false, b
	tx.f.write(b, tx.to)
}
