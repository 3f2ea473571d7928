package signaling

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// TLSConfig enables SIP over TLS (the SBC trunks of Direct Routing and the
// cloud–edge trunk): a listener, our certificate (also presented as a
// client certificate: mutual TLS) and the CA bundle that peer certificates
// must chain to.
type TLSConfig struct {
	Listen   string // HOST:PORT
	CertFile string
	KeyFile  string
	CAFile   string // PEM bundle; empty = the system roots
}

// tlsState holds what the TLS listener learned of each connection's peer.
type tlsState struct {
	conf  *tls.Config // server side
	dial  *tls.Config // client side (towards SBCs)
	peers sync.Map    // remote addr → []string verified certificate names
}

func loadTLS(c TLSConfig, peers func() Peers) (*tlsState, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	var pool *x509.CertPool
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca bundle: %w", err)
		}
		pool = x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca bundle %s: no certificate found", c.CAFile)
		}
	} else if pool, err = x509.SystemCertPool(); err != nil {
		return nil, fmt.Errorf("system roots: %w", err)
	}
	st := &tlsState{}
	st.conf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	st.dial = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		// The chain and the name are checked in VerifyConnection: a lab
		// gateway is often dialled by IP (address override) while its
		// certificate names its FQDN.
		InsecureSkipVerify: true, //nolint:gosec // verified below
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyServer(cs, pool, peers)
		}}
	return st, nil
}

// verifyServer checks an SBC's server certificate: it chains to the CA
// bundle and names the gateway we dialled (by FQDN, or — dialled by
// address — the FQDN of a gateway configured at that address).
func verifyServer(cs tls.ConnectionState, roots *x509.CertPool, peers func() Peers) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: sbc sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("tls: sbc certificate: %w", err)
	}
	if cs.ServerName != "" && net.ParseIP(cs.ServerName) == nil {
		return leaf.VerifyHostname(cs.ServerName)
	}
	// Dialled by address: Go sends no SNI for an IP and reports an empty
	// ServerName, so the address is not known here; the certificate must
	// name one of the TLS gateways configured at an IP address.
	if p := peers(); p != nil {
		for _, fqdn := range p.AtAddress(cs.ServerName) {
			if leaf.VerifyHostname(fqdn) == nil {
				return nil
			}
		}
	}
	where := cs.ServerName
	if where == "" {
		where = "the address dialled"
	}
	return fmt.Errorf("tls: certificate of %s names none of the gateways configured there", where)
}

// listener wraps the TLS listener to remember each peer's verified names.
type listener struct {
	net.Listener
	st *tlsState
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		return c, nil
	}
	return &conn{Conn: tc, tc: tc, st: l.st, remote: c.RemoteAddr().String()}, nil
}

type conn struct {
	net.Conn
	tc     *tls.Conn
	st     *tlsState
	remote string
	seen   bool // only touched by the connection's reader goroutine
}

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.seen && c.tc.ConnectionState().HandshakeComplete {
		c.seen = true
		cs := c.tc.ConnectionState()
		if len(cs.VerifiedChains) > 0 {
			leaf := cs.PeerCertificates[0]
			names := append([]string{leaf.Subject.CommonName}, leaf.DNSNames...)
			for _, ip := range leaf.IPAddresses {
				names = append(names, ip.String())
			}
			c.st.peers.Store(c.remote, names)
		}
	}
	return n, err
}

func (c *conn) Close() error {
	c.st.peers.Delete(c.remote)
	return c.Conn.Close()
}

// tlsGateway identifies an SBC on a mutually authenticated TLS connection:
// its certificate must name a configured gateway, and the Contact of its
// request must carry that FQDN. reason is set when it must be refused.
func (s *Server) tlsGateway(req *sip.Request) (gw Gateway, reason string, ok bool) {
	if s.tls == nil || !strings.EqualFold(req.Transport(), "TLS") {
		return Gateway{}, "", false
	}
	if _, node := s.peerOf(req); node {
		return Gateway{}, "", false // another node of the deployment (edge.go)
	}
	v, found := s.tls.peers.Load(req.Source())
	p := s.peers()
	if !found || p == nil {
		return Gateway{}, "", false
	}
	for _, name := range v.([]string) {
		g, ok := p.ByFQDN(strings.ToLower(name))
		if !ok {
			continue
		}
		c := req.Contact()
		switch {
		case c == nil:
			return g, "Contact Required", true
		case net.ParseIP(c.Address.Host) != nil:
			return g, "Contact Must Carry The SBC FQDN", true
		case !strings.EqualFold(c.Address.Host, g.FQDN):
			return g, "Contact FQDN Does Not Match Certificate", true
		}
		return g, "", true
	}
	// A verified certificate that names no configured gateway: an SBC with
	// the wrong certificate, refused rather than taken for a phone.
	return Gateway{}, "Certificate Names No Configured Gateway", true
}
