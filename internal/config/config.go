// Package config holds the node's bootstrap configuration: listen addresses,
// data directory, media port range and the operator's admin token. It comes
// from flags and an optional YAML file; tenant data never lives here.
package config

// Config is the bootstrap configuration of one Switchboard node.
// YAML keys are the flag names without dashes, in lowerCamelCase.
type Config struct {
	SIP        string `yaml:"sip" json:"sip"`               // HOST:PORT for UDP and TCP, default 0.0.0.0:5060
	HTTP       string `yaml:"http" json:"http"`             // HOST:PORT of the API, default 127.0.0.1:8080
	Data       string `yaml:"data" json:"data"`             // data directory, default ./switchboard-data
	RTPPorts   string `yaml:"rtpPorts" json:"rtpPorts"`     // LOW-HIGH, default 20000-29999
	AdminToken string `yaml:"adminToken" json:"adminToken"` // operator token; generated when empty
	// MediaIP is the address written into SDP for relayed media. Empty means
	// the SIP listen host, or the first non-loopback address when that is 0.0.0.0.
	MediaIP string `yaml:"mediaIp" json:"mediaIp"`
	// SIPTLS is HOST:PORT of the SIP over TLS listener (SBC trunks); off when empty.
	SIPTLS string `yaml:"sipTls" json:"sipTls"`
	// TLSCert and TLSKey are PEM files of this node's certificate (also its
	// client certificate towards SBCs: mutual TLS); TLSCA is the PEM bundle
	// SBC certificates must chain to (system roots when empty).
	TLSCert string `yaml:"tlsCert" json:"tlsCert"`
	TLSKey  string `yaml:"tlsKey" json:"tlsKey"`
	TLSCA   string `yaml:"tlsCa" json:"tlsCa"`
	// FQDN is this node's name, written into Contact on TLS trunks (SBCs
	// check it against their configuration); default: the SIP host.
	FQDN string `yaml:"fqdn" json:"fqdn"`
	// OptionsInterval is the period of OPTIONS pings to gateways, e.g. "60s"
	// (minimum 1s); HealthWindow how recent an OPTIONS must be for Active.
	OptionsInterval string `yaml:"optionsInterval" json:"optionsInterval"`
	// BanAfter failed digest challenges for one user from one source IP
	// within a minute ban that IP for 5 minutes ("0" = default 5, "-1" = off).
	BanAfter string `yaml:"banAfter" json:"banAfter"`
	// FloodLimit messages from one source IP within 2 s ban it for 5
	// minutes ("" or "0" = off). Configured gateways and Trusted are exempt.
	FloodLimit string `yaml:"floodLimit" json:"floodLimit"`
	// MaxUserPSTNCalls caps a user's simultaneous outbound PSTN calls
	// (toll fraud; emergency calls exempt): default 2, "0" = unlimited.
	MaxUserPSTNCalls string `yaml:"maxUserPstnCalls" json:"maxUserPstnCalls"`
	// IntlCallsPerHour caps a tenant's international PSTN calls per hour
	// (toll fraud; emergency calls exempt): default 100, "0" = unlimited.
	IntlCallsPerHour string `yaml:"intlCallsPerHour" json:"intlCallsPerHour"`
	// Trusted lists source addresses or CIDRs never limited nor banned,
	// comma separated (e.g. the office NAT).
	Trusted string `yaml:"trusted" json:"trusted"`
	// DigestAlgorithms lists the digest challenges offered, in preference
	// order, comma separated: MD5 and/or SHA-256 (default "MD5,SHA-256").
	// Some deployed clients (baresip with libre 1.x) give up on a 401 that
	// carries any SHA-256 challenge; "MD5" serves them.
	DigestAlgorithms string `yaml:"digestAlgorithms" json:"digestAlgorithms"`
	HealthWindow     string `yaml:"healthWindow" json:"healthWindow"`
	// SessionExpires is the RFC 4028 session interval asked for and the
	// most accepted on every call leg, in seconds (default 1800); MinSE the
	// smallest accepted (default 90, the RFC floor): smaller requests get
	// 422. See timers.go and docs/admin.md.
	SessionExpires string `yaml:"sessionExpires" json:"sessionExpires"`
	MinSE          string `yaml:"minSe" json:"minSe"`
	// RTPTimeout releases a relayed call with no RTP either way for this
	// long (default 60s, "0" off); RTPHoldTimeout applies instead while the
	// call is on hold (default 1h, "0" off).
	RTPTimeout     string `yaml:"rtpTimeout" json:"rtpTimeout"`
	RTPHoldTimeout string `yaml:"rtpHoldTimeout" json:"rtpHoldTimeout"`
	// TestTimerSecondMs, TESTS ONLY, is the length in ms of one second of
	// session-timer intervals (default 1000), so that CI sees a 90 s
	// interval pass in 9 s. Never set it in production.
	TestTimerSecondMs string `yaml:"testTimerSecondMs" json:"testTimerSecondMs,omitempty"`
	// LogLevel is debug|info|warn|error, default info.
	LogLevel string `yaml:"logLevel" json:"logLevel"`
	// CallingPlan is the operator's Calling Plan (callingplan.go); nil: none.
	CallingPlan *CallingPlan `yaml:"callingPlan" json:"callingPlan,omitempty"`
	// Cloud, when set, makes this node an edge of that cloud (hybrid, cloud.go).
	Cloud *Cloud `yaml:"cloud" json:"cloud,omitempty"`
}

// Defaults used when a key is not set.
const (
	DefaultSIP      = "0.0.0.0:5060"
	DefaultHTTP     = "127.0.0.1:8080"
	DefaultData     = "./switchboard-data"
	DefaultRTPPorts = "20000-29999"
)

// DefaultLogLevel is the log level used when none is set.
const DefaultLogLevel = "info"

// EnvAdminToken names the environment variable that sets AdminToken. It
// overrides the config file and is overridden by --admin-token.
const EnvAdminToken = "SWITCHBOARD_ADMIN_TOKEN"

// LogLevels are the accepted values of LogLevel.
func LogLevels() []string { return []string{"debug", "info", "warn", "error"} }
