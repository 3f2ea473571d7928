package signaling

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Hybrid is what signaling asks of a cloud–edge deployment (issue 6): which
// requests come from the other node over the trunk (no digest: over TLS
// the peer is identified by its verified certificate, over a lab UDP trunk
// by its address, like a lab SBC), and where a user's phone must register.
// The composition root implements it; nil means a single node.
type Hybrid interface {
	// Peer returns the node a request from ip:port over transport (udp or
	// tcp) came from: only nodes whose trunk is not TLS.
	Peer(ip string, port int, transport string) (HybridPeer, bool)
	// PeerByCert returns the node whose TLS trunk presented a certificate
	// (chained to the CA bundle) with these names (CN, DNS and IP SANs).
	PeerByCert(names []string) (HybridPeer, bool)
	// RegisterAt returns "" when u registers here, else the HOST:PORT of
	// their home node, where their phone is redirected (302).
	RegisterAt(u *pbx.User) string
}

// HybridPeer is another node of the deployment.
type HybridPeer struct {
	Key    string // call control's FromTrunk for its calls ("cloud", "edge:contoso/redmond")
	Tenant string // the tenant whose calls it carries
}

// peerOf returns the node that sent req, if it is one.
func (s *Server) peerOf(req *sip.Request) (HybridPeer, bool) {
	if s.deps.Hybrid == nil {
		return HybridPeer{}, false
	}
	if strings.EqualFold(req.Transport(), "TLS") {
		// By certificate only, never by source address.
		if s.tls == nil {
			return HybridPeer{}, false
		}
		names, ok := s.tls.peers.Load(req.Source())
		if !ok {
			return HybridPeer{}, false
		}
		return s.deps.Hybrid.PeerByCert(names.([]string))
	}
	host, portStr, err := net.SplitHostPort(req.Source())
	if err != nil {
		return HybridPeer{}, false
	}
	port, _ := strconv.Atoi(portStr)
	return s.deps.Hybrid.Peer(host, port, transportName(req.Transport()))
}

// handlePeerInvite serves an INVITE from the other node of the deployment
// and reports whether req was one. Its Request-URI names the callee
// (user@domain) or, for a PSTN call relayed to a gateway of this node,
// number@gateway-fqdn; its From is the caller, a user of the shared
// directory or a PSTN number.
func (s *Server) handlePeerInvite(req *sip.Request, tx sip.ServerTransaction) bool {
	p, ok := s.peerOf(req)
	if !ok {
		return false
	}
	user := req.Recipient.User
	if user == "" {
		s.respond(req, tx, 404, "Not Found")
		return true
	}
	ir := callctl.InviteRequest{Tenant: p.Tenant, FromTrunk: p.Key,
		Target: user + "@" + strings.ToLower(req.Recipient.Host)}
	from := req.From()
	if u, ok := s.deps.Directory().User(aorOf(from.Address)); ok && u.Tenant == p.Tenant {
		ir.Caller = u
	} else {
		ir.From = callctl.Identity{Name: from.DisplayName, User: from.Address.User, Host: from.Address.Host}
	}
	s.serveInvite(req, tx, ir)
	return true
}

// redirectRegister answers an authenticated REGISTER of a user homed on
// another node with 302 and the Contact of that node, and reports whether
// it did.
func (s *Server) redirectRegister(req *sip.Request, tx sip.ServerTransaction, u *pbx.User) bool {
	if s.deps.Hybrid == nil {
		return false
	}
	// The home first: most users are homed here, and removesOnly reads
	// every header of the REGISTER.
	home := s.deps.Hybrid.RegisterAt(u)
	if home == "" || removesOnly(req) {
		return false
	}
	s.hook("redirect")
	s.log.Info("register redirected to the user's home", "user", u.SIPAddress, "home", home)
	s.respond(req, tx, 302, "Moved Temporarily",
		sip.NewHeader("Contact", "<sip:"+u.Username()+"@"+home+">"))
	return true
}

// removesOnly says whether a REGISTER only removes bindings (Expires: 0,
// Contact: *, or every contact with expires=0): a phone leaving its old
// home after a move may still do that there.
func removesOnly(req *sip.Request) bool {
	header := -1
	if v, ok := firstValue(req, "Expires", ""); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			header = n
		}
	}
	for _, h := range req.Headers() {
		if !isNamed(h, "Contact", "m") {
			continue
		}
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			return false
		}
		if ch.Address.Wildcard {
			continue
		}
		v, ok := ch.Params.Get("expires")
		if !ok && header != 0 || ok && strings.TrimSpace(v) != "0" {
			return false
		}
	}
	return true // every contact removed, or none: a query
}

// ProbePeer sends one OPTIONS to another node of the deployment at addr
// (HOST:PORT) over transport (udp or tls) and returns once it answered or
// ctx ended: the edge's trunk keepalive towards the cloud.
func (s *Server) ProbePeer(ctx context.Context, addr, transport string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	uri := sip.Uri{Scheme: "sip", Host: host}
	r := sip.NewRequest(sip.OPTIONS, uri)
	r.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "edge", Host: s.host}, Params: sip.NewParams()}
	from.Params.Add("tag", newTag())
	r.AppendHeader(from)
	tp := strings.ToUpper(transport)
	if tp == "" {
		tp = "UDP"
	}
	if tp == "TLS" && s.tls == nil {
		return errors.New("the trunk is tls but this node has no sip tls (sipTls, tlsCert, tlsKey)")
	}
	r.AppendHeader(s.contact(tp))
	s.route(r, tp, addr)
	_, err = s.cli.Do(ctx, r)
	return err
}

// NotifyCheckSync sends a registered contact of a user who moved to
// another node an unsolicited NOTIFY with Event: check-sync, on which
// deployed phones re-register at once (and are then redirected to the new
// home). It carries the Call-ID of the phone's registration, as FreeSWITCH
// does for check-sync, so that the phone relates it to that registration,
// and goes where the REGISTER came from (NAT). It returns once the phone
// answered or ctx ended; any final response counts as delivered.
func (s *Server) NotifyCheckSync(ctx context.Context, b pbx.Binding) (int, error) {
	var target sip.Uri
	if err := sip.ParseUri(b.Contact, &target); err != nil {
		return 0, err
	}
	tp := strings.ToUpper(b.Transport)
	if tp == "" {
		tp = "UDP"
	}
	dest := b.Source
	if dest == "" {
		dest = target.HostPort()
	}
	user, host, _ := strings.Cut(b.AOR, "@")
	aor := sip.Uri{Scheme: "sip", User: user, Host: host}
	r := sip.NewRequest(sip.NOTIFY, target)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", newTag())
	r.AppendHeader(from)
	r.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	if b.CallID != "" {
		id := sip.CallIDHeader(b.CallID)
		r.AppendHeader(&id)
	}
	r.AppendHeader(s.contact(tp))
	r.AppendHeader(sip.NewHeader("Event", "check-sync;reboot=false"))
	r.AppendHeader(sip.NewHeader("Subscription-State", "terminated"))
	s.route(r, tp, dest)
	res, err := s.cli.Do(ctx, r)
	if err != nil {
		return 0, err
	}
	if res == nil { // sipgo ended the transaction without an answer (shutting down)
		return 0, sip.ErrTransactionTerminated
	}
	return res.StatusCode, nil
}
