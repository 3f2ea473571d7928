// Package callctl is Switchboard's back-to-back user agent: it turns one
// caller leg into one call, forks it to every registered device of the
// callee, bridges the answering leg, propagates CANCEL, BYE and re-INVITE,
// and writes the call detail record. Each call's work runs on its own loop
// (sipgo delivers every message on its own goroutine), so an ACK can never be
// handled after the BYE that follows it.
//
// callctl is a domain package: it speaks to SIP only through the small ports
// declared here, implemented by the signaling adapter.
package callctl

import (
	"context"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Inbound is the caller's leg (the server side of the INVITE).
type Inbound interface {
	// Progress sends a provisional response (180, 183) with optional SDP.
	Progress(code int, reason string, sdp []byte) error
	// Answer sends 200 OK with SDP and keeps retransmitting it until ACK.
	Answer(sdp []byte) error
	// Reject sends a final error response.
	Reject(code int, reason string) error
	// Bye ends the confirmed dialog from our side.
	Bye() error
	// ReInvite sends a re-INVITE towards the caller and returns its final answer.
	ReInvite(sdp []byte) (code int, answer []byte, err error)
	// Release forgets the dialog; later requests in it get 481.
	Release()
}

// Outbound is one callee device's leg (the client side of an INVITE).
type Outbound interface {
	// Cancel abandons the pending INVITE (CANCEL once it is safe, ACK+BYE
	// if a 2xx crosses it) and releases the leg.
	Cancel()
	// Bye ends the confirmed dialog.
	Bye() error
	// ReInvite sends a re-INVITE in the dialog and returns the final answer.
	ReInvite(sdp []byte) (code int, answer []byte, err error)
	// Release forgets the dialog.
	Release()
}

// ByeThen is what a leg may add to Bye: send the BYE and return at once;
// done runs once with its outcome (nil once a final response came), on
// whatever goroutine hears of it, and must not block. A call ends a leg
// that has it without a goroutine waiting for the BYE's answer.
type ByeThen interface {
	ByeThen(done func(error))
}

// LegEvents receives what happens on an outbound leg. Implementations post
// the event to the call's loop and return at once.
type LegEvents interface {
	Provisional(code int, reason string, sdp []byte)
	Answered(sdp []byte)
	Failed(code int, reason string)
	Bye()
	ReInvite(sdp []byte, reply func(code int, sdp []byte))
	// Expired reports that the leg's session timer ran out (RFC 4028: no
	// refresh arrived, or our refresh failed); reason goes into the CDR.
	// The call is released: BYE on both legs.
	Expired(reason string)
}

// InboundEvents receives what happens on the caller's leg.
type InboundEvents interface {
	Cancel()
	Ack()
	Bye()
	ReInvite(sdp []byte, reply func(code int, sdp []byte))
	// Expired: as LegEvents.Expired, for the caller's leg.
	Expired(reason string)
}

// End reasons of calls the system releases (CDR EndReason).
const (
	ReasonSessionExpired = "session-expired" // no session refresh arrived in time
	ReasonRefreshFailed  = "refresh-failed"  // our session refresh got 408/481 or no answer
	ReasonRTPTimeout     = "rtp-timeout"     // no RTP either way through the relay
)

// Dial describes one outbound leg to originate: to a registered device
// (Target) or, when Trunk is set, to a PSTN gateway.
type Dial struct {
	CallID string      // the caller leg's Call-ID, for logs only
	Target pbx.Binding // the device to ring
	Trunk  *TrunkTarget
	Caller *pbx.User // nil when the caller is outside (PSTN)
	Callee *pbx.User // nil when the callee is outside (PSTN)
	From   Identity  // identity presented to the callee
	SDP    []byte    // offer, already rewritten for the callee side
}

// Identity is a caller or callee as presented in From/To.
type Identity struct {
	Name string // display name
	User string // user part: a username or an E.164 number
	Host string // domain
}

// TrunkTarget is one gateway attempt of a PSTN call, as routing chose it.
type TrunkTarget struct {
	Key           string        // health key (tenant/fqdn or carrier name)
	FQDN          string        // host of the Request-URI
	Port          int           // sipSignalingPort
	Address       string        // host:port actually sent to (address override or resolved)
	Transport     string        // udp | tcp | tls
	Called        string        // E.164 after outbound translation rules
	Calling       string        // calling number after outbound translation rules
	FailoverCodes []int         // responses that move on to the next gateway
	FailoverTime  time.Duration // no response beyond 100 within it: next gateway
	MediaBypass   bool
	ForwardPAI    bool
	// Anonymous hides the caller (caller ID policy): From anonymous,
	// Privacy: id; the identity travels in P-Asserted-Identity only when
	// ForwardPAI (the SBC is trusted with it).
	Anonymous bool
	// ForwardHistory adds History-Info (forwardCallHistory).
	ForwardHistory bool
	MaxSessions    int
	Enforce        bool
	// Peer marks the cloud–edge trunk (hybrid): the Request-URI is the
	// callee's address Called@FQDN, not a number (no user=phone).
	Peer bool
}

// Dialer originates outbound legs.
type Dialer interface {
	// Dial sends the INVITE and returns at once; everything that follows is
	// reported to ev. An error means the INVITE could not be sent at all.
	Dial(ctx context.Context, d Dial, ev LegEvents) (Outbound, error)
}

// MediaSession is one call's media relay.
type MediaSession interface {
	// Rewrite takes SDP received from one party and returns the SDP to send
	// to the other, pointing at the relay.
	Rewrite(fromCallee bool, sdp []byte) ([]byte, error)
	// Close stops relaying and releases the ports.
	Close()
}

// MediaActivity is implemented by media sessions that relay RTP (not by
// media bypass): call control watches it to release calls whose media
// stopped.
type MediaActivity interface {
	// RTPPackets counts the RTP packets relayed so far, both directions.
	RTPPackets() uint64
	// Held reports whether a party's latest SDP put the call on hold.
	Held() bool
}

// Media allocates relay sessions.
type Media interface {
	NewSession(callID string) (MediaSession, error)
}

// Recorder receives the CDR of every finished call.
type Recorder interface {
	Record(c pbx.CDR)
}

// Locator finds the registered devices of an address of record.
type Locator interface {
	Lookup(aor string) []pbx.Binding
}

// Route is routing's answer for a dialled string that is not a user of the
// tenant as dialled.
type Route struct {
	Kind     RouteKind
	User     *pbx.User     // KindUser
	Number   string        // normalised E.164, KindPSTN / KindEmergency
	Gateways []TrunkTarget // KindPSTN / KindEmergency, in the order to try
	Code     int           // KindRejected: the SIP status
	Reason   string        // KindRejected: why, as the reason phrase
	// Via is how a PSTN call leaves: "directRouting", "callingPlan"...
	// (copied into the CDR).
	Via string
	// MaxDuration ends the call this long after answer (prepaid credit);
	// 0 means no limit.
	MaxDuration time.Duration
	// Grant, when set, meters the call (Calling Plan, meter.go): it is
	// called at answer and each time the time it granted runs out; 0 ends
	// the call.
	Grant func() time.Duration
}

// RouteKind says where a call goes.
type RouteKind int

// Route kinds.
const (
	KindRejected RouteKind = iota
	KindUser
	KindPSTN
	KindEmergency
)

// Router turns a dialled string into a Route (dial plan, voice routing).
type Router interface {
	Route(caller *pbx.User, dialed string) Route
}

// TrunkHealth receives the outcomes of gateway attempts (passive health)
// and counts concurrent sessions.
type TrunkHealth interface {
	CallOutcome(key string, code int)
	SessionStart(t TrunkTarget) bool
	SessionEnd(key string)
}
