// Package pbx is the shared kernel of Switchboard: the small value types that
// every PBX domain package speaks (tenants, users, registrations, call detail
// records). It depends on the standard library only.
package pbx

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
	"time"
)

// Tenant is an organisation served by Switchboard. Its name is its identity.
type Tenant struct {
	Name    string   `json:"tenant"`
	Domains []string `json:"domains"`
}

// Digest algorithms supported for user credentials (RFC 3261, RFC 8760).
const (
	AlgMD5    = "MD5"
	AlgSHA256 = "SHA-256"
)

// HA1 returns hex(H(username:realm:password)) for the digest algorithm
// (AlgMD5 or AlgSHA256): the only form in which passwords are kept.
func HA1(algorithm, username, realm, password string) string {
	var h hash.Hash
	if algorithm == AlgSHA256 {
		h = sha256.New()
	} else {
		h = md5.New()
	}
	h.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(h.Sum(nil))
}

// Credential is one stored digest HA1 hash. A user has one per
// (realm, username form, algorithm); the plaintext password is never stored.
type Credential struct {
	Realm     string `json:"realm"`
	Username  string `json:"username"`
	Algorithm string `json:"algorithm"`
	HA1       string `json:"ha1"`
}

// User is a person (or device owner) of a tenant who can register and call.
type User struct {
	Tenant      string       `json:"tenant"`
	SIPAddress  string       `json:"sipAddress"` // alice@contoso.com, the address of record
	DisplayName string       `json:"displayName,omitempty"`
	Extension   string       `json:"extension,omitempty"`
	LineURI     string       `json:"lineUri,omitempty"` // E.164, optionally ;ext=
	Credentials []Credential `json:"-"`

	// Voice settings (PRODUCT.md §2). Empty strings mean "not set"; Home is
	// "online" or the name of an edge.
	NumberType             string          `json:"numberType,omitempty"` // DirectRouting | CallingPlan
	EnterpriseVoiceEnabled bool            `json:"enterpriseVoiceEnabled,omitempty"`
	VoiceRoutingPolicy     string          `json:"voiceRoutingPolicy,omitempty"`
	DialPlan               string          `json:"dialPlan,omitempty"`
	CallingPlan            string          `json:"callingPlan,omitempty"`   // Domestic | DomesticAndInternational | PayAsYouGo
	UsageLocation          string          `json:"usageLocation,omitempty"` // ISO 3166 alpha-2, uppercase
	Home                   string          `json:"home,omitempty"`
	EmergencyRoutingPolicy string          `json:"emergencyRoutingPolicy,omitempty"`
	CallerIDPolicy         string          `json:"callerIdPolicy,omitempty"`
	CallingSettings        CallingSettings `json:"callingSettings"`
}

// CallingSettings are a user's own call handling settings. A forwarding
// target is "voicemail", a sip address of the tenant or an E.164 number;
// empty means "not forwarded".
type CallingSettings struct {
	Forwarding             Forwarding `json:"forwarding"`
	SimultaneousRing       []string   `json:"simultaneousRing,omitempty"` // extra targets that ring with the user's devices
	UnansweredDelaySeconds int        `json:"unansweredDelaySeconds"`     // before "unanswered" forwarding; default 20
	Voicemail              Voicemail  `json:"voicemail"`
}

// Forwarding targets per condition.
type Forwarding struct {
	Immediate    string `json:"immediate,omitempty"`
	Busy         string `json:"busy,omitempty"`
	Unanswered   string `json:"unanswered,omitempty"`
	Unregistered string `json:"unregistered,omitempty"`
}

// Voicemail settings of a user.
type Voicemail struct {
	Enabled     bool   `json:"enabled"`
	NotifyEmail string `json:"notifyEmail,omitempty"`
}

// Object is one named tenant object other than a user or a domain (a
// gateway, a voice route, a dial plan...), kept by the store as a validated
// JSON document. Kind is the document key ("pstnGateways"), Name its
// identity within the kind (a gateway's fqdn, a route's name).
type Object struct {
	Tenant string          `json:"tenant"`
	Kind   string          `json:"kind"`
	Name   string          `json:"name"`
	Spec   json.RawMessage `json:"spec"`
}

// AuditEntry records one change of one object. Before and After are the
// object's JSON without secrets (null when created or deleted); Changes
// lists the changed fields, a password only ever as "(changed)".
type AuditEntry struct {
	ID        int64         `json:"id"`
	Time      time.Time     `json:"time"`
	ActorID   string        `json:"actorId"`   // token id ("operator" for the bootstrap token)
	ActorName string        `json:"actorName"` // token name
	Tenant    string        `json:"tenant"`
	Action    string        `json:"action"` // create | update | delete
	Kind      string        `json:"kind"`
	Name      string        `json:"name"`
	Before    []byte        `json:"before,omitempty"`
	After     []byte        `json:"after,omitempty"`
	Changes   []FieldChange `json:"changes,omitempty"`
}

// FieldChange is one changed field of an object: JSON-encoded values, or
// "(changed)" for secrets; empty Before/After means absent.
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// AuditFilter selects audit entries, newest first: Tenant "" means every
// tenant; Before > 0 returns entries with a smaller ID (paging).
type AuditFilter struct {
	Tenant string
	Limit  int
	Before int64
}

// Username returns the user part of the SIP address (alice for alice@contoso.com).
func (u User) Username() string {
	user, _, _ := strings.Cut(u.SIPAddress, "@")
	return user
}

// Domain returns the host part of the SIP address; it is the digest realm.
func (u User) Domain() string {
	_, host, _ := strings.Cut(u.SIPAddress, "@")
	return host
}

// Number returns the E.164 number of the lineUri without "tel:" or ";ext=".
func (u User) Number() string {
	n := strings.TrimPrefix(u.LineURI, "tel:")
	n, _, _ = strings.Cut(n, ";")
	return n
}

// Binding is one registered contact of an address of record.
type Binding struct {
	AOR       string    `json:"aor"`       // alice@contoso.com
	Contact   string    `json:"contact"`   // the Contact URI as the device sent it
	Source    string    `json:"source"`    // ip:port the REGISTER came from (NAT)
	Transport string    `json:"transport"` // udp | tcp | tls
	Expires   time.Time `json:"expires"`
	CallID    string    `json:"callId"`
	CSeq      uint32    `json:"cseq"`
	UserAgent string    `json:"userAgent,omitempty"`
	Instance  string    `json:"instance,omitempty"` // +sip.instance, when given
}

// CallResult says how a call ended, as recorded in its CDR.
type CallResult string

// Call results.
const (
	ResultAnswered    CallResult = "answered"
	ResultBusy        CallResult = "busy"
	ResultCancelled   CallResult = "cancelled"
	ResultUnavailable CallResult = "unavailable" // callee not registered / not reachable
	ResultNotFound    CallResult = "not-found"
	ResultNoAnswer    CallResult = "no-answer"
	ResultRejected    CallResult = "rejected"
	ResultFailed      CallResult = "failed"
)

// Party names a side of a call (who hung up).
type Party string

// Parties.
const (
	PartyCaller Party = "caller"
	PartyCallee Party = "callee"
	PartySystem Party = "system"
	PartyNone   Party = ""
)

// CDR is the call detail record of one call through Switchboard.
type CDR struct {
	ID       int64      `json:"id"`
	CallID   string     `json:"callId"` // the caller leg's Call-ID
	Tenant   string     `json:"tenant"`
	Caller   string     `json:"caller"` // sip address of the caller
	Callee   string     `json:"callee"` // sip address of the callee, if resolved
	Dialed   string     `json:"dialed"` // the user part of the Request-URI as dialled
	Start    time.Time  `json:"start"`
	Answer   *time.Time `json:"answer,omitempty"`
	End      time.Time  `json:"end"`
	Duration int64      `json:"durationSeconds"` // answered time, whole seconds
	Result   CallResult `json:"result"`
	Cause    int        `json:"cause"` // final SIP status given to the caller (200 when answered)
	HangupBy Party      `json:"hangupBy,omitempty"`
	// EndReason says why the system ended an answered call: session-expired
	// (no session refresh from a party, RFC 4028), refresh-failed (our
	// refresh got 408/481 or no answer), rtp-timeout (no media). Empty when
	// a party hung up.
	EndReason string `json:"endReason,omitempty"`
	// Emergency marks an emergency call (never blocked, always flagged).
	Emergency bool `json:"emergency,omitempty"`
	// Via says how a PSTN call left: directRouting | callingPlan ("" for
	// calls between users).
	Via string `json:"via,omitempty"`
}

// CDRFilter selects CDRs.
type CDRFilter struct {
	Tenant string
	Limit  int
}
