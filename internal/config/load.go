package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/cli/yamldoc"
)

// Default returns the configuration a node runs with when nothing is set.
func Default() Config {
	return Config{
		SIP:      DefaultSIP,
		HTTP:     DefaultHTTP,
		Data:     DefaultData,
		RTPPorts: DefaultRTPPorts,
		LogLevel: DefaultLogLevel,
	}
}

// Load reads a YAML config file. Keys are checked strictly: an unknown key
// or a value of the wrong type is an error "FILE:LINE: key: what is wrong"
// (one line per problem). Keys that are missing or empty take their
// defaults. Load does not validate values; call Validate on the final
// configuration, after environment and flags are applied.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return parse(path, data)
}

func parse(name string, data []byte) (Config, error) {
	docs, perr := yamldoc.Parse(data)
	if perr != nil {
		return Config{}, errors.New(perr.Format(name))
	}
	var c Config
	switch len(docs) {
	case 0:
	case 1:
		if problems := docs[0].Decode(&c); len(problems) > 0 {
			errs := make([]error, len(problems))
			for i, p := range problems {
				errs[i] = errors.New(p.Format(name))
			}
			return Config{}, errors.Join(errs...)
		}
		if err := checkCallingPlan(name, docs[0], c.CallingPlan); err != nil {
			return Config{}, err
		}
		if err := checkCloud(name, docs[0], c.Cloud); err != nil {
			return Config{}, err
		}
		if err := checkTimers(name, docs[0], c); err != nil {
			return Config{}, err
		}
	default:
		p := yamldoc.Problem{Line: docs[1].Line(), Message: "a config file holds one document"}
		return Config{}, errors.New(p.Format(name))
	}
	return c.withDefaults(), nil
}

// withDefaults fills every empty field that has a default.
func (c Config) withDefaults() Config {
	d := Default()
	for _, f := range []struct {
		dst *string
		def string
	}{
		{&c.SIP, d.SIP}, {&c.HTTP, d.HTTP}, {&c.Data, d.Data},
		{&c.RTPPorts, d.RTPPorts}, {&c.LogLevel, d.LogLevel},
	} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	return c
}

// ApplyEnv overrides c with the environment, read through getenv
// (os.Getenv in production): SWITCHBOARD_ADMIN_TOKEN sets AdminToken.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if v := getenv(EnvAdminToken); v != "" {
		c.AdminToken = v
	}
	c.Cloud.applyEnv(getenv)
}

// Validate checks every field and returns all problems joined, each as
// "field: message" with the field's YAML key.
func (c Config) Validate() error {
	var errs []error
	for _, hp := range []struct{ key, value string }{{"sip", c.SIP}, {"http", c.HTTP}} {
		if err := checkHostPort(hp.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", hp.key, err))
		}
	}
	if strings.TrimSpace(c.Data) == "" {
		errs = append(errs, errors.New("data: must not be empty"))
	}
	if _, _, err := c.RTPRange(); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(LogLevels(), c.LogLevel) {
		errs = append(errs, fmt.Errorf("logLevel: %q is not one of %s", c.LogLevel, strings.Join(LogLevels(), ", ")))
	}
	if c.MediaIP != "" {
		switch ip, err := netip.ParseAddr(c.MediaIP); {
		case err != nil || ip.Zone() != "":
			errs = append(errs, fmt.Errorf("mediaIp: %q is not an IP address", c.MediaIP))
		case ip.IsUnspecified():
			errs = append(errs, fmt.Errorf("mediaIp: %s cannot be written into SDP; give the address peers reach", c.MediaIP))
		}
	}
	if c.SIPTLS != "" {
		if err := checkHostPort(c.SIPTLS); err != nil {
			errs = append(errs, fmt.Errorf("sipTls: %w", err))
		}
		if c.TLSCert == "" || c.TLSKey == "" {
			errs = append(errs, errors.New("sipTls: needs tlsCert and tlsKey"))
		}
	}
	for _, d := range []struct{ key, value string }{{"optionsInterval", c.OptionsInterval}, {"healthWindow", c.HealthWindow}} {
		if d.value == "" {
			continue
		}
		if v, err := time.ParseDuration(d.value); err != nil || v < time.Second {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration of at least 1s (e.g. 60s)", d.key, d.value))
		}
	}
	errs = append(errs, c.Cloud.validate()...)
	if c.Cloud.TrunkTransport() == TrunkTLS {
		var missing []string
		for _, k := range []struct{ key, value string }{{"sipTls", c.SIPTLS}, {"tlsCert", c.TLSCert}, {"tlsKey", c.TLSKey}, {"tlsCa", c.TLSCA}} {
			if strings.TrimSpace(k.value) == "" {
				missing = append(missing, k.key)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("cloud.transport: tls needs %s: the edge's TLS listener (where the cloud reaches it), "+
				"its certificate and the CA bundle the cloud's certificate must chain to", strings.Join(missing, ", ")))
		}
	}
	for _, n := range []struct{ key, value string }{{"banAfter", c.BanAfter}, {"floodLimit", c.FloodLimit}, {"maxUserPstnCalls", c.MaxUserPSTNCalls}, {"intlCallsPerHour", c.IntlCallsPerHour}} {
		if n.value == "" {
			continue
		}
		if v, err := strconv.Atoi(n.value); err != nil || v < -1 {
			errs = append(errs, fmt.Errorf("%s: %q is not a count (-1 turns it off)", n.key, n.value))
		}
	}
	if _, err := c.TrustedPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.Algorithms(); err != nil {
		errs = append(errs, err)
	}
	for _, p := range c.timerProblems() {
		errs = append(errs, fmt.Errorf("%s: %s", p.key, p.msg))
	}
	return errors.Join(errs...)
}

// UserPSTNCalls is MaxUserPSTNCalls as a number (default 2, 0 = unlimited).
func (c Config) UserPSTNCalls() int {
	if c.MaxUserPSTNCalls == "" {
		return 2
	}
	n, _ := strconv.Atoi(c.MaxUserPSTNCalls)
	if n < 0 {
		return 0
	}
	return n
}

// IntlPerHour is IntlCallsPerHour as a number (default 100, 0 = unlimited).
func (c Config) IntlPerHour() int {
	if c.IntlCallsPerHour == "" {
		return 100
	}
	n, _ := strconv.Atoi(c.IntlCallsPerHour)
	if n < 0 {
		return 0
	}
	return n
}

// Algorithms parses DigestAlgorithms into the canonical names ("MD5",
// "SHA-256") in the order given; nil when unset (the default order).
func (c Config) Algorithms() ([]string, error) {
	if strings.TrimSpace(c.DigestAlgorithms) == "" {
		return nil, nil
	}
	var out []string
	for _, s := range strings.Split(c.DigestAlgorithms, ",") {
		var alg string
		switch strings.ToUpper(strings.TrimSpace(s)) {
		case "MD5":
			alg = "MD5"
		case "SHA-256":
			alg = "SHA-256"
		default:
			return nil, fmt.Errorf("digestAlgorithms: %q is not MD5 or SHA-256", strings.TrimSpace(s))
		}
		if slices.Contains(out, alg) {
			return nil, fmt.Errorf("digestAlgorithms: %s is listed twice", alg)
		}
		out = append(out, alg)
	}
	return out, nil
}

// TrustedPrefixes parses Trusted.
func (c Config) TrustedPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.Trusted, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted: %q is not an address or CIDR", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted: %q is not an address or CIDR", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// Durations returns the OPTIONS interval and the health window (zero when
// unset: the defaults apply). Call after Validate.
func (c Config) Durations() (interval, window time.Duration) {
	interval, _ = time.ParseDuration(c.OptionsInterval)
	window, _ = time.ParseDuration(c.HealthWindow)
	return interval, window
}

// RTPRange returns the bounds of RTPPorts, both included. The range must
// lie within 1024-65535, start on an even port (RTP on even, RTCP on odd)
// and hold at least two ports.
func (c Config) RTPRange() (low, high int, err error) {
	lo, hi, ok := strings.Cut(c.RTPPorts, "-")
	low, errLow := strconv.Atoi(strings.TrimSpace(lo))
	high, errHigh := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case !ok || errLow != nil || errHigh != nil:
		return 0, 0, fmt.Errorf("rtpPorts: %q is not LOW-HIGH, e.g. %s", c.RTPPorts, DefaultRTPPorts)
	case low < 1024 || high > 65535:
		return 0, 0, fmt.Errorf("rtpPorts: %d-%d must lie within 1024-65535", low, high)
	case low >= high:
		return 0, 0, fmt.Errorf("rtpPorts: LOW %d must be below HIGH %d (at least two ports)", low, high)
	case low%2 != 0:
		return 0, 0, fmt.Errorf("rtpPorts: LOW %d must be even", low)
	}
	return low, high, nil
}

// checkHostPort accepts HOST:PORT where HOST is empty, an IP address or a
// host name and PORT is 1-65535.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q must be a number from 1 to 65535", port)
	}
	if host == "" {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return fmt.Errorf("host %q: zones are not supported", host)
		}
		return nil
	}
	if !isHostname(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

func isHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// checkCallingPlan validates the callingPlan section where it was read, so
// that each problem has its FILE:LINE.
func checkCallingPlan(name string, doc *yamldoc.Doc, cp *CallingPlan) error {
	if cp == nil {
		return nil
	}
	_, problems := cp.Numbering()
	errs := make([]error, len(problems))
	for i, p := range problems {
		path := "callingPlan." + p.Path
		errs[i] = errors.New(yamldoc.Problem{Line: doc.LineOf(path), Path: path, Message: p.Message}.Format(name))
	}
	return errors.Join(errs...)
}

// checkCloud checks the cloud section's values that only the file sets
// where they were read, so that each problem has its FILE:LINE.
func checkCloud(name string, doc *yamldoc.Doc, c *Cloud) error {
	if c == nil {
		return nil
	}
	if msg := transportProblem(c.Transport); msg != "" {
		return errors.New(yamldoc.Problem{Line: doc.LineOf("cloud.transport"), Path: "cloud.transport", Message: msg}.Format(name))
	}
	return nil
}
