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
	// LogLevel is debug|info|warn|error, default info.
	LogLevel string `yaml:"logLevel" json:"logLevel"`
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
