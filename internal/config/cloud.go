package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Cloud makes the node an edge of a cloud node (hybrid, PRODUCT.md §5): it
// pulls its tenant's configuration from the cloud's API, keeps a SIP trunk
// with the cloud, and runs on its own (survivable) while the cloud is out
// of reach. Without it the node is a cloud or standalone node. The keys are
// a contract, documented in docs/topologies/hybrid-edge.md:
//
//	cloud:
//	  api: https://cloud.example.net:8443   # the cloud node's API
//	  sip: cloud.example.net:5061           # the cloud node's SIP address for the trunk
//	  tenant: contoso
//	  edge: redmond                         # this edge's name in the tenant document
//	  token: "..."                          # switchboard tokens create --tenant contoso --edge redmond
//
// transport (optional) is the trunk's: udp (the default; loopback labs or
// a private link, each node identified by address and port) or tls
// (production: mutual TLS, each node identified by its certificate). tls
// needs this node's sipTls listener, tlsCert, tlsKey and tlsCa: the edge
// dials cloud.sip (the cloud's sipTls address) presenting its certificate
// and checks that the cloud's names the host of cloud.sip.
type Cloud struct {
	API       string `yaml:"api" json:"api"`
	SIP       string `yaml:"sip" json:"sip"`
	Transport string `yaml:"transport" json:"transport,omitempty"`
	Tenant    string `yaml:"tenant" json:"tenant"`
	Edge      string `yaml:"edge" json:"edge"`
	Token     string `yaml:"token" json:"-"`
}

// Trunk transports of the cloud section.
const (
	TrunkUDP = "udp"
	TrunkTLS = "tls"
)

// TrunkTransport is the trunk's transport: udp unless tls is set.
func (c *Cloud) TrunkTransport() string {
	if c != nil && strings.EqualFold(strings.TrimSpace(c.Transport), TrunkTLS) {
		return TrunkTLS
	}
	return TrunkUDP
}

// transportProblem says what is wrong with cloud.transport, "" if nothing.
func transportProblem(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", TrunkUDP, TrunkTLS:
		return ""
	case "tcp":
		return `"tcp" is not supported for the cloud–edge trunk: use udp (labs) or tls`
	}
	return fmt.Sprintf("%q is not a trunk transport: udp (labs) or tls (production, mutual TLS)", v)
}

// EnvCloudToken names the environment variable that sets cloud.token (it
// overrides the file, so the secret need not be written there).
const EnvCloudToken = "SWITCHBOARD_CLOUD_TOKEN"

// validate returns every problem of the cloud section, each as
// "cloud.key: message"; a nil section (not an edge) has none.
func (c *Cloud) validate() []error {
	if c == nil {
		return nil
	}
	var errs []error
	u, err := url.Parse(c.API)
	switch {
	case strings.TrimSpace(c.API) == "":
		errs = append(errs, errors.New("cloud.api: must be the cloud node's API URL, e.g. https://cloud.example.net:8443"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("cloud.api: %q is not an http:// or https:// URL", c.API))
	}
	if strings.TrimSpace(c.SIP) == "" {
		errs = append(errs, errors.New("cloud.sip: must be the cloud node's SIP address, HOST:PORT"))
	} else if err := checkHostPort(c.SIP); err != nil {
		errs = append(errs, fmt.Errorf("cloud.sip: %w", err))
	}
	if msg := transportProblem(c.Transport); msg != "" {
		errs = append(errs, fmt.Errorf("cloud.transport: %s", msg))
	}
	for _, f := range []struct{ key, value, what string }{
		{"tenant", c.Tenant, "the tenant this edge serves"},
		{"edge", c.Edge, "this edge's name in the tenant document"},
		{"token", c.Token, "an edge token (switchboard tokens create --tenant T --edge E)"},
	} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("cloud.%s: must be set: %s", f.key, f.what))
		}
	}
	if strings.EqualFold(strings.TrimSpace(c.Edge), "online") {
		errs = append(errs, errors.New(`cloud.edge: "online" names the cloud, not an edge`))
	}
	return errs
}

// applyEnv sets cloud.token from the environment, when there is a
// cloud section.
func (c *Cloud) applyEnv(getenv func(string) string) {
	if c == nil {
		return
	}
	if v := getenv(EnvCloudToken); v != "" {
		c.Token = v
	}
}
