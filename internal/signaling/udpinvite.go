package signaling

import (
	"bytes"
	"errors"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The INVITE server transactions of the UDP front (RFC 3261 §17.2.1 with
// RFC 6026's Accepted state), kept here rather than in sipgo: a call's
// INVITEs, their CANCEL and the ACK of a non-2xx answer never enter sipgo's
// transaction layer, which spends a goroutine, a context and timers on
// every message (ADR 0006).
//
// Costs are kept per transaction, not per message: the only timer is Timer
// G, armed when a non-2xx final response goes out and stopped by its ACK
// (the challenge of a phone's first INVITE is acknowledged within
// milliseconds, so it rarely fires). Timer H is an expiry time the front's
// rotation sweeps (inviteTable.sweep), a few seconds late at most.
//
// A transaction that only absorbs retransmissions — Accepted (Timer L,
// 32 s) and Confirmed (Timer I) — leaves the table for a one-byte record
// under the same key in the front's replay cache (retrans.go), which holds
// no pointers: at 2,000 calls/s the table held 64,000 transactions kept
// for Timer L alone, each a few objects the garbage collector marked in
// every cycle (issue #8). The record lives 32-40 s: longer than Timer I,
// which only means a very late retransmission is absorbed too.

// inviteState is where an INVITE server transaction is.
type inviteState uint8

const (
	inviteProceeding inviteState = iota // no final response yet
	inviteAccepted                      // 2xx sent: the TU retransmits it until the ACK (RFC 6026)
	inviteCompleted                     // non-2xx sent: retransmitted (Timer G) until the ACK
	inviteConfirmed                     // non-2xx acknowledged: absorbing ACK retransmissions (Timer I)
	inviteTerminated
)

// The records of retired transactions (the one byte of their answer in the
// replay cache).
const (
	retiredAccepted  = 'A' // 2xx sent: retransmitted INVITEs are absorbed; an ACK goes to the dialog
	retiredConfirmed = 'C' // non-2xx acknowledged: retransmitted INVITEs and ACKs are absorbed
)

var errTxTerminated = errors.New("transaction terminated")

// inviteTx is one INVITE server transaction over UDP. It implements
// sip.ServerTransaction for the handlers (handleInvite, re-INVITEs).
type inviteTx struct {
	f   *udpFront
	key string
	to  netip.AddrPort

	mu        sync.Mutex
	req       *sip.Request // until the final response
	state     inviteState
	last      []byte // the last response sent: a retransmitted INVITE gets it again
	toTag     string // the To-tag of our responses (the 487 after a CANCEL reuses it)
	expires   time.Time
	timerG    *time.Timer
	interval  time.Duration
	t2        time.Duration // Timer G's cap
	kept      bool          // a call holds it: it outlives its handler (keep)
	tryingDue bool          // its 100 Trying waits in the front's queue (trying.go)
	cancel    *sip.Request  // the CANCEL, once one came
	onCancel  []sip.FnTxCancel
	onTerm    []sip.FnTxTerminate
	done      chan struct{}
	err       error
}

var _ sip.ServerTransaction = (*inviteTx)(nil)

// inviteTable holds the front's INVITE transactions by Via branch and
// source address (what a retransmission, its CANCEL and its non-2xx ACK
// share).
type inviteTable struct {
	seed   maphash.Seed
	shards [replayShards]struct {
		mu sync.Mutex
		m  map[string]*inviteTx
		_  [40]byte
	}
}

func newInviteTable() *inviteTable {
	t := &inviteTable{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*inviteTx)
	}
	return t
}

func (t *inviteTable) idx(key string) int { return int(maphash.String(t.seed, key) % replayShards) }

// begin returns the transaction of key, or records tx as new (true).
func (t *inviteTable) begin(key string, tx *inviteTx) (*inviteTx, bool) {
	sh := &t.shards[t.idx(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[key]; ok {
		return old, false
	}
	sh.m[key] = tx
	return tx, true
}

func (t *inviteTable) get(key string) *inviteTx {
	sh := &t.shards[t.idx(key)]
	sh.mu.Lock()
	tx := sh.m[key]
	sh.mu.Unlock()
	return tx
}

func (t *inviteTable) del(key string, tx *inviteTx) {
	sh := &t.shards[t.idx(key)]
	sh.mu.Lock()
	if sh.m[key] == tx {
		delete(sh.m, key)
	}
	sh.mu.Unlock()
}

// sweep ends the transactions whose time is up (Timer H: a non-2xx never
// acknowledged; the others retire, see retire).
func (t *inviteTable) sweep(now time.Time) {
	var ended []*inviteTx
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, tx := range sh.m {
			tx.mu.Lock()
			due := !tx.expires.IsZero() && now.After(tx.expires)
			tx.mu.Unlock()
			if due {
				delete(sh.m, k)
				ended = append(ended, tx)
			}
		}
		sh.mu.Unlock()
	}
	for _, tx := range ended {
		tx.terminate(nil)
	}
}

// len counts the transactions (tests).
func (t *inviteTable) len() int {
	n := 0
	for i := range t.shards {
		t.shards[i].mu.Lock()
		n += len(t.shards[i].m)
		t.shards[i].mu.Unlock()
	}
	return n
}

// invite takes an INVITE from the front: a retransmission is answered by
// its transaction, a new one gets a transaction and its handler.
func (f *udpFront) invite(req *sip.Request, key string, from netip.AddrPort, h func(*sip.Request, sip.ServerTransaction)) {
	tx := &inviteTx{f: f, key: key, to: from, req: req, done: make(chan struct{})}
	if old, fresh := f.invites.begin(key, tx); !fresh {
		old.retransmitted()
		return
	}
	// Retired after the table was looked up (retire records first, then
	// leaves the table): a retransmission of an answered INVITE.
	if f.replay.has(key) {
		f.invites.del(key, tx)
		return
	}
	if to := req.To(); to != nil && to.Params.Has("tag") {
		go func() { // a re-INVITE: its handler waits for the other party
			h(req, tx)
			tx.handlerDone()
		}()
		return
	}
	if f.load.refuses() { // overloaded (overload.go); Timer G until its ACK, as any refusal
		f.s.respond(req, tx, 503, "Service Unavailable", sip.NewHeader("Retry-After", shedRetryAfter))
		return
	}
	// A new INVITE is handled on the reader: a challenge, a refusal or a
	// new call (serveInvite keeps the transaction and returns).
	h(req, tx)
	tx.handlerDone()
}

// frontInvite is the front's INVITE transaction behind a handler's tx.
func frontInvite(tx sip.ServerTransaction) (*inviteTx, bool) {
	if w, ok := tx.(*watchedTx); ok {
		tx = w.ServerTransaction
	}
	ft, ok := tx.(*inviteTx)
	return ft, ok
}

// keep hands the transaction to a call: it stays open when its handler
// returns, until the call answers it.
func (tx *inviteTx) keep() {
	tx.mu.Lock()
	tx.kept = true
	tx.mu.Unlock()
}

// ackOrCancel matches an ACK or CANCEL to the front's INVITE transaction
// of the same branch and source, live or retired; false when there is none
// (the ACK of a 2xx is a transaction of its own).
func (f *udpFront) ackOrCancel(req *sip.Request, key string, from netip.AddrPort) bool {
	tx := f.invites.get(key)
	if tx == nil {
		var one [1]byte // a retired INVITE's record: one byte (udpretired.go)
		rec, retired := f.replay.get(key, one[:0])
		switch {
		case !retired || len(rec) != 1:
			return false
		case req.IsAck():
			// Absorbed after a non-2xx; after a 2xx it is the dialog's (an
			// RFC 2543 phone's ACK reuses the INVITE's branch).
			return rec[0] == retiredConfirmed
		}
		f.send(responseTo(req, 200, "OK"), from) // a CANCEL too late to matter
		return true
	}
	if req.IsAck() {
		return tx.acked()
	}
	tx.cancelled(req)
	return true
}

// retransmitted answers a retransmitted INVITE: the last response again
// (Proceeding, Completed), nothing in Accepted and Confirmed.
func (tx *inviteTx) retransmitted() {
	tx.mu.Lock()
	b := tx.last
	if tx.state != inviteProceeding && tx.state != inviteCompleted {
		b = nil
	}
	trying := b == nil && tx.tryingDue
	tx.mu.Unlock()
	if trying { // the retransmission came before the 100 was due
		tx.tryingNow()
		return
	}
	if b != nil {
		tx.f.write(b, tx.to)
	}
}

// acked takes the ACK of a non-2xx final response; false when the ACK is
// not for this transaction's answer (an ACK for a 2xx that reused the
// INVITE's branch, as RFC 2543 phones do: the dialog takes it).
func (tx *inviteTx) acked() bool {
	tx.mu.Lock()
	switch tx.state {
	case inviteCompleted:
		tx.state = inviteConfirmed
		if tx.timerG != nil {
			tx.timerG.Stop()
		}
		tx.mu.Unlock()
		tx.retire(retiredConfirmed) // Timer I: the record absorbs the rest
		tx.terminate(nil)
		return true
	case inviteConfirmed, inviteTerminated:
		tx.mu.Unlock()
		return true
	}
	tx.mu.Unlock()
	return false
}

// retire replaces the transaction in the table by its record in the
// replay cache (kind: retiredAccepted or retiredConfirmed). The record
// goes in first: a retransmission that misses the table finds it.
func (tx *inviteTx) retire(kind byte) {
	rec := [1]byte{kind}
	tx.f.replay.finish(tx.key, rec[:])
	tx.f.invites.del(tx.key, tx)
}

// cancelled takes a CANCEL: 200 to it, and while no final response was sent,
// 487 to the INVITE and the TU told (RFC 3261 §9.2).
func (tx *inviteTx) cancelled(c *sip.Request) {
	ok := responseTo(c, 200, "OK")
	tx.f.send(ok, tx.to)
	tx.mu.Lock()
	if tx.state != inviteProceeding || tx.cancel != nil {
		tx.mu.Unlock()
		return
	}
	tx.cancel = c
	fns, req := tx.onCancel, tx.req
	tx.mu.Unlock()
	res := responseTagged(req, 487, "Request Terminated", tx.wireTag()) // the transaction's To-tag (tagLocked)
	if err := tx.Respond(res); err != nil {
		return // a final response overtook the CANCEL
	}
	if len(fns) > 0 {
		go func() { // the TU may block (the call loop's queue): never the reader
			for _, fn := range fns {
				fn(c)
			}
		}()
	}
}

// handlerDone ends a transaction its handler left unanswered (a banned
// source, a dropped request): its retransmissions are handled anew.
func (tx *inviteTx) handlerDone() {
	tx.mu.Lock()
	open := tx.state == inviteProceeding && !tx.kept
	tx.mu.Unlock()
	if open {
		tx.f.invites.del(tx.key, tx)
		tx.terminate(nil)
	}
}

// Respond sends res to where the INVITE came from, and moves the
// transaction on.
func (tx *inviteTx) Respond(res *sip.Response) error {
	tx.mu.Lock()
	tx.tagLocked(res)
	buf := tx.f.bufs.get(res)
	defer tx.f.bufs.put(buf)
	return tx.respondLocked(res.StatusCode, buf.Bytes())
}

// respondWire is Respond with the response written (answer), with the
// transaction's To-tag (wireTag) when it has one.
func (tx *inviteTx) respondWire(code int, _ bool, b []byte) error {
	tx.mu.Lock()
	return tx.respondLocked(code, b)
}

// respondLocked sends b, a response with status code, and moves the
// transaction on; tx.mu is held and released.
func (tx *inviteTx) respondLocked(code int, b []byte) error {
	switch tx.state {
	case inviteProceeding:
	case inviteAccepted:
		if code/100 != 2 {
			tx.mu.Unlock()
			return errors.New("invite transaction accepted: only 2xx retransmissions")
		}
	default:
		tx.mu.Unlock()
		return errTxTerminated
	}
	if code >= 200 {
		// A final response leaves nothing that needs the request or the
		// TU: let go of them, so the 32 s of Timer H or L hold no call.
		tx.req, tx.onCancel = nil, nil
	}
	if code/100 == 2 { // not kept: the call retransmits its 2xx itself
		first := tx.state == inviteProceeding
		tx.state, tx.last = inviteAccepted, nil
		tx.mu.Unlock()
		tx.f.write(b, tx.to)
		if first {
			// Timer L is the record's: the call keeps this object for its
			// 2xx retransmissions (Respond), the table no longer does.
			tx.retire(retiredAccepted)
		}
		return nil
	}
	b = bytes.Clone(b) // kept: a retransmitted INVITE gets it again
	switch {
	case code < 200:
		tx.last = b
	default:
		tx.state, tx.last = inviteCompleted, b
		tx.expires = time.Now().Add(64 * sip.T1) // Timer H
		tx.interval, tx.t2 = sip.T1, sip.T2      // read once: the timer's callbacks never read the globals
		tx.timerG = time.AfterFunc(sip.T1, tx.fireG)
	}
	tx.mu.Unlock()
	tx.f.write(b, tx.to)
	return nil
}

// wireTag is the To-tag an answer written as bytes carries: the
// transaction's, made now if it has none, as tagLocked gives it.
func (tx *inviteTx) wireTag() string {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.toTag == "" {
		tx.toTag = newTag()
	}
	return tx.toTag
}

// tagLocked gives a response other than 100 the transaction's To-tag: the
// first one's own (the TU's), else one made here, so every response of the
// transaction — the 487 after a CANCEL included — carries the same.
func (tx *inviteTx) tagLocked(res *sip.Response) {
	to := res.To()
	if res.StatusCode <= 100 || to == nil {
		return
	}
	if tag, ok := to.Params.Get("tag"); ok {
		if tx.toTag == "" {
			tx.toTag = tag
		}
		return
	}
	if tx.toTag == "" {
		tx.toTag = newTag()
	}
	to.Params.Add("tag", tx.toTag)
}

// fireG retransmits the non-2xx final response until its ACK (Timer G,
// T1 doubling up to T2; Timer H ends it).
func (tx *inviteTx) fireG() {
	tx.mu.Lock()
	if tx.state != inviteCompleted || time.Now().After(tx.expires) {
		tx.mu.Unlock()
		return
	}
	b := tx.last
	if tx.interval *= 2; tx.interval > tx.t2 {
		tx.interval = tx.t2
	}
	tx.timerG.Reset(tx.interval)
	tx.mu.Unlock()
	tx.f.write(b, tx.to)
}

// terminate ends the transaction: Done closes, OnTerminate callbacks run.
func (tx *inviteTx) terminate(err error) {
	tx.mu.Lock()
	if tx.state == inviteTerminated {
		tx.mu.Unlock()
		return
	}
	tx.state, tx.err = inviteTerminated, err
	if tx.timerG != nil {
		tx.timerG.Stop()
	}
	fns := tx.onTerm
	tx.mu.Unlock()
	close(tx.done)
	for _, fn := range fns {
		fn(tx.key, err)
	}
}

// Terminate implements sip.Transaction.
func (tx *inviteTx) Terminate() {
	tx.f.invites.del(tx.key, tx)
	tx.terminate(nil)
}

// OnTerminate implements sip.Transaction.
func (tx *inviteTx) OnTerminate(f sip.FnTxTerminate) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.state == inviteTerminated {
		return false
	}
	tx.onTerm = append(tx.onTerm, f)
	return true
}

// OnCancel implements sip.ServerTransaction; a CANCEL that came before is
// reported at once.
func (tx *inviteTx) OnCancel(f sip.FnTxCancel) bool {
	tx.mu.Lock()
	c := tx.cancel
	if c == nil {
		tx.onCancel = append(tx.onCancel, f)
	}
	tx.mu.Unlock()
	if c != nil {
		f(c)
	}
	return true
}

func (tx *inviteTx) Done() <-chan struct{}     { return tx.done }
func (tx *inviteTx) Acks() <-chan *sip.Request { return nil }

func (tx *inviteTx) Err() error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.err
}

// send writes res to to, serialized in a pooled buffer (nothing kept).
func (f *udpFront) send(res *sip.Response, to netip.AddrPort) {
	buf := f.bufs.get(res)
	f.write(buf.Bytes(), to)
	f.bufs.put(buf)
}
