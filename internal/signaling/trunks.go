package signaling

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
)

// Gateway is a configured PSTN peer (a tenant's SBC or an operator carrier)
// as signaling needs it.
type Gateway struct {
	Key       string // health key: tenant/fqdn or carrier name
	Tenant    string // "" for an operator carrier
	FQDN      string
	Address   string // host:port requests are sent to
	Transport string // udp | tcp | tls
	// Inbound applies the gateway's inbound translation rules to the called
	// and calling numbers of a call it sends us; nil keeps them.
	Inbound func(called, calling string) (string, string)
	// Host is the domain our side presents for calls from this gateway.
	Host string
	// Resolve, set for an operator carrier (Tenant ""), finds where a call
	// to the called number goes: the tenant, the target within it and the
	// domain to present (the number inventory); !ok answers 404.
	Resolve func(called string) (tenant, target, host string, ok bool)
}

// Peers finds configured gateways. The composition root compiles it from
// the tenant configuration and swaps it atomically on change.
type Peers interface {
	// BySource returns the gateway a request came from: lab transports
	// (udp/tcp) are identified by source address.
	BySource(ip string, port int) (Gateway, bool)
	// Gateway returns a gateway by key.
	Gateway(key string) (Gateway, bool)
	// ByFQDN returns the gateway named by a TLS certificate.
	ByFQDN(fqdn string) (Gateway, bool)
	// AtAddress lists the FQDNs of the gateways configured at an address;
	// with "" those of every TLS gateway configured at an IP address.
	AtAddress(host string) []string
}

// TrunkHealth is what signaling reports about gateways.
type TrunkHealth interface {
	OptionsReceived(key string)
}

func (s *Server) peers() Peers {
	if s.deps.Peers == nil {
		return nil
	}
	return s.deps.Peers()
}

// fromGateway returns the gateway that sent req, if any.
func (s *Server) fromGateway(req *sip.Request) (Gateway, bool) {
	if g, _, ok := s.tlsGateway(req); ok {
		// A verified TLS peer is identified by its certificate alone,
		// never by its source address.
		return g, g.Key != ""
	}
	p := s.peers()
	if p == nil {
		return Gateway{}, false
	}
	host, portStr, err := net.SplitHostPort(req.Source())
	if err != nil {
		return Gateway{}, false
	}
	port, _ := strconv.Atoi(portStr)
	return p.BySource(host, port)
}

// handleGatewayInvite delivers a call from a PSTN gateway: inbound
// translation, then the called number is looked up among the tenant's users.
func (s *Server) handleGatewayInvite(req *sip.Request, tx sip.ServerTransaction, gw Gateway) {
	called := numberOf(req.Recipient)
	calling := ""
	if f := req.From(); f != nil {
		calling = numberOf(f.Address)
	}
	if pai := headerNamed(req, "P-Asserted-Identity"); pai != nil {
		var u sip.Uri
		if v := strings.Trim(strings.TrimSpace(pai.Value()), "<>"); sip.ParseUri(v, &u) == nil {
			calling = numberOf(u)
		}
	}
	if gw.Inbound != nil {
		called, calling = gw.Inbound(called, calling)
	}
	if called == "" {
		s.respond(req, tx, 404, "Not Found")
		return
	}
	tenant, host := gw.Tenant, gw.Host
	if gw.Resolve != nil {
		t, target, h, ok := gw.Resolve(called)
		if !ok {
			s.respond(req, tx, 404, "Not Found")
			return
		}
		tenant, called, host = t, target, h
	}
	name := ""
	if f := req.From(); f != nil {
		name = f.DisplayName
	}
	s.serveInvite(req, tx, callctl.InviteRequest{Tenant: tenant, FromTrunk: gw.Key, Target: called, ByNumber: true,
		From: callctl.Identity{Name: name, User: calling, Host: host}})
}

// numberOf returns the user part of a SIP or tel URI without visual
// separators or parameters (";phone-context" etc.).
func numberOf(u sip.Uri) string {
	n := u.User
	if n == "" && strings.EqualFold(u.Scheme, "tel") {
		n = u.Host
	}
	n, _, _ = strings.Cut(n, ";")
	return n
}

// Probe implements trunk.Prober: one OPTIONS to the gateway; any final
// response shows it alive.
func (s *Server) Probe(ctx context.Context, key string) error {
	p := s.peers()
	if p == nil {
		return errors.New("no gateways configured")
	}
	gw, ok := p.Gateway(key)
	if !ok {
		return errors.New("unknown gateway " + key)
	}
	r := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: gw.FQDN})
	r.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: gw.FQDN}, Params: sip.NewParams()})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "ping", Host: s.host}, Params: sip.NewParams()}
	from.Params.Add("tag", newTag())
	r.AppendHeader(from)
	r.AppendHeader(s.contact(gw.Transport))
	s.route(r, gw.Transport, gw.Address)
	_, err := s.cli.Do(ctx, r)
	return err
}
