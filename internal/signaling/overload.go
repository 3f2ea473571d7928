package signaling

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Overload control of the UDP front (ADR 0006, decision 10).
//
// When the readers fall behind — more datagrams arrive than the CPU can
// handle — the socket's receive buffer fills, and once it is full the
// kernel drops datagrams: INVITEs, but also the 200s, ACKs and BYEs of
// calls already under way. Their senders retransmit, which is more work
// still, and the node collapses to a fraction of what it can do (the
// bench saw 1,400-1,500 calls/s completed at 4,500/s offered, against
// 3,800/s when not overloaded). So while the buffer is more than half
// full (for shedConfirm, or three quarters full at once) the front
// refuses new calls — an INVITE without a To-tag — at
// once with 503 and a Retry-After, which costs a parse and a short
// answer instead of a call, and keeps handling everything else: what is
// under way finishes, and the new-call rate that gets through is what the
// node can carry. It takes new calls again once the buffer is down to an
// eighth. The same goes for new registrations — a REGISTER without
// credentials: its 401 is half the work of a registration, and the
// REGISTER that answers it the other half — so that a registration storm
// (every phone of a site after a power cut, the bench's 32,000/s) does
// not collapse the node either; a REGISTER with credentials completes a
// registration already begun and is handled. OPTIONS and requests inside
// dialogs are never refused here.
//
// A buffer half full for a moment is not an overload: a stall of the
// process (a collection, the host's hypervisor) queues datagrams that are
// then worked through within tens of milliseconds, far inside the
// 500-ms retransmission timer. Refusing then turned a passing load into
// failures: 2,141 new registrations refused in an 81-ms spell at 16,000
// REGISTER/s (session 13, docs/performance.md), where Kamailio passed the
// same step queueing for up to 188 ms. So half full must last
// shedConfirm; three quarters full (the buffer about to drop datagrams)
// sheds at once.
const (
	shedAbove   = 500 // thousandths of the receive buffer: refuse new calls when it stays this full for shedConfirm
	shedNow     = 750 // or when it is this full
	shedConfirm = 50 * time.Millisecond
	shedBelow   = 125 // and stop at this
	// shedProbeEvery is how often a reader asks how full the buffer is
	// (a getsockopt in the same turn as the recvfrom), while not shedding;
	// while shedding it asks after every datagram, so that it stops as
	// soon as it may.
	shedProbeEvery = 16
	// shedRetryAfter is the Retry-After of the 503, in seconds: an SBC or
	// proxy in front tries another node, or this one later.
	shedRetryAfter = "5"
)

// overload is the front's state: shedding or not, and how many calls it
// refused.
type overload struct {
	shedding atomic.Bool
	// highSince is when a reading first found the buffer at shedAbove or
	// more since the last reading below it (UnixNano); 0: none.
	highSince atomic.Int64
	// clock, when set, replaces time.Now (tests).
	clock func() time.Time
	// floor, when set, replaces shedBelow (tests: -1 keeps shedding on).
	floor   atomic.Pointer[int]
	refused atomic.Uint64 // new calls
	// refusedRegisters counts the new registrations refused.
	refusedRegisters atomic.Uint64
	log              *slog.Logger
	onShed           func() // each refused call (metrics); may be nil
}

// probe says whether a reader should ask how full the buffer is with the
// n-th datagram it reads.
func (o *overload) probe(n uint) bool {
	return o.shedding.Load() || n%shedProbeEvery == 0
}

// observe takes a reading of the buffer (thousandths; < 0: none).
func (o *overload) observe(fill int) {
	switch {
	case fill < 0:
	case o.shedding.Load():
		if fill <= o.below() && o.shedding.CompareAndSwap(true, false) {
			o.highSince.Store(0)
			o.log.Info("sip udp: caught up, taking new calls and registrations again",
				"buffer_fill_permille", fill, "refused_so_far", o.refused.Load(),
				"registrations_refused_so_far", o.refusedRegisters.Load())
		}
	case fill >= shedNow:
		o.shed(fill)
	case fill >= shedAbove:
		now := o.now().UnixNano()
		if since := o.highSince.Load(); since == 0 {
			o.highSince.CompareAndSwap(0, now)
		} else if now-since >= int64(shedConfirm) {
			o.shed(fill)
		}
	default:
		if o.highSince.Load() != 0 {
			o.highSince.Store(0)
		}
	}
}

func (o *overload) shed(fill int) {
	if o.shedding.CompareAndSwap(false, true) {
		o.log.Warn("sip udp: overloaded, refusing new calls and registrations with 503 until the front catches up",
			"buffer_fill_permille", fill)
	}
}

func (o *overload) now() time.Time {
	if o.clock != nil {
		return o.clock()
	}
	return time.Now()
}

func (o *overload) below() int {
	if p := o.floor.Load(); p != nil {
		return *p
	}
	return shedBelow
}

// refuses says whether a new call is to be refused now, and counts it;
// the front answers it (udpFront.invite).
func (o *overload) refuses() bool {
	if !o.shedding.Load() {
		return false
	}
	o.refused.Add(1) // counted before the answer leaves: whoever sees the 503 sees it counted
	if o.onShed != nil {
		o.onShed()
	}
	return true
}

// refusesRegister says whether a REGISTER is to be refused now — a new
// registration (no Authorization header) while shedding — and counts it.
func (o *overload) refusesRegister(req *sip.Request) bool {
	if !o.shedding.Load() || headerIn(req.Headers(), "Authorization") != nil {
		return false
	}
	o.refusedRegisters.Add(1)
	return true
}

// Overloaded says whether the UDP front is refusing new calls now.
func (s *Server) Overloaded() bool {
	s.mu.Lock()
	f := s.udp
	s.mu.Unlock()
	return f != nil && f.load.shedding.Load()
}
