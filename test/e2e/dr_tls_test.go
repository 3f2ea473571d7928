package e2e

// Direct Routing over TLS with mutual authentication (issue 4 acceptance):
// a CA and certificates made in the test, Switchboard with --sip-tls, and a
// small SBC written with sipgo (Debian's SIPp is built without TLS: `sipp
// -h` offers no -t l1). Both directions are checked: the SBC calls a user
// (Switchboard verifies the SBC's certificate and Contact), and a user
// calls out through the SBC (the SBC verifies Switchboard's certificate as
// a TLS client, Switchboard verifies the SBC's as a server). A certificate
// naming another host, a Contact with an IP address, and a certificate of
// another CA are refused.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

const (
	pbxFQDN = "pbx.switchboard.test" // Switchboard's --fqdn and certificate name
	sbcFQDN = "sbc.contoso.com"      // the gateway, in the tenant's domain
)

// ----------------------------------------------------------------- PKI

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool,
		pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate for both TLS roles (SIP peers are servers and
// clients on the same trunk) naming cn, and the DNS names and IPs given.
func (ca *testCA) issue(t *testing.T, cn string, dns []string, ips ...net.IP) (tls.Certificate, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

// ------------------------------------------------------------ sipgo SBC

// goSBC is an SBC on a mutually authenticated TLS trunk: a sipgo user
// agent with one certificate, a TLS listener that requires and verifies
// Switchboard's client certificate, and a client for calls it places.
type goSBC struct {
	t       *testing.T
	ua      *sipgo.UserAgent
	cli     *sipgo.Client
	srv     *sipgo.Server
	ln      net.Listener
	port    int
	pbxAddr string // Switchboard's TLS listener

	mu       sync.Mutex
	invites  []*sip.Request
	peerName []string // names in Switchboard's client certificate, per connection
	acks     int
	byes     int
}

// startGoSBC starts an SBC on ip with cert. As a TLS client it presents
// cert whatever CAs Switchboard asks for (as SBCs do: Go's default would
// send none that the server cannot verify), or none with noClientCert.
func startGoSBC(t *testing.T, ca *testCA, cert tls.Certificate, ip, pbxAddr string, noClientCert bool) *goSBC {
	t.Helper()
	return startGoSBCTo(t, ca, cert, ip, pbxAddr, pbxFQDN, noClientCert)
}

// startGoSBCTo is startGoSBC towards a Switchboard whose certificate names
// serverName.
func startGoSBCTo(t *testing.T, ca *testCA, cert tls.Certificate, ip, pbxAddr, serverName string, noClientCert bool) *goSBC {
	t.Helper()
	needLoopbackAlias(t, ip)
	g := &goSBC{t: t, pbxAddr: pbxAddr}
	clientConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.pool, ServerName: serverName,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if noClientCert {
				return &tls.Certificate{}, nil
			}
			return &cert, nil
		}}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("go-sbc"), sipgo.WithUserAgentHostname(sbcFQDN),
		sipgo.WithUserAgenTLSConfig(clientConf))
	if err != nil {
		t.Fatal(err)
	}
	g.ua = ua
	if g.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname(sbcFQDN)); err != nil {
		t.Fatal(err)
	}
	if g.srv, err = sipgo.NewServer(ua); err != nil {
		t.Fatal(err)
	}
	serverConf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no client certificate")
			}
			leaf := cs.PeerCertificates[0]
			g.mu.Lock()
			g.peerName = append(g.peerName, leaf.Subject.CommonName)
			g.mu.Unlock()
			return leaf.VerifyHostname(pbxFQDN) // the SBC checks who calls it
		}}
	ln, err := tls.Listen("tcp", net.JoinHostPort(ip, "0"), serverConf)
	if err != nil {
		t.Fatal(err)
	}
	g.ln, g.port = ln, ln.Addr().(*net.TCPAddr).Port
	g.srv.OnInvite(g.onInvite)
	g.srv.OnAck(func(*sip.Request, sip.ServerTransaction) { g.mu.Lock(); g.acks++; g.mu.Unlock() })
	g.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		g.mu.Lock()
		g.byes++
		g.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	g.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go func() { _ = g.srv.ServeTLS(ln) }()
	t.Cleanup(func() {
		_ = ln.Close()
		_ = ua.Close()
	})
	return g
}

func sbcSDP(ip string, port int) []byte {
	return []byte(fmt.Sprintf("v=0\r\no=sbc 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", ip, ip, port))
}

// onInvite answers a call from Switchboard: 180, then 200 with SDP.
func (g *goSBC) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil && to.Params.Has("tag") { // re-INVITE
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	g.mu.Lock()
	g.invites = append(g.invites, req)
	g.mu.Unlock()
	tag := sip.GenerateTagN(10)
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "sbc", Host: sbcFQDN, Port: g.port,
		UriParams: sip.NewParams()}}
	contact.Address.UriParams.Add("transport", "tls")
	for _, code := range []int{180, 200} {
		var body []byte
		if code == 200 {
			body = sbcSDP("127.0.0.2", 40000)
		}
		res := sip.NewResponseFromRequest(req, code, map[int]string{180: "Ringing", 200: "OK"}[code], body)
		res.To().Params.Add("tag", tag)
		res.AppendHeader(contact)
		if body != nil {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		if err := tx.Respond(res); err != nil {
			g.t.Logf("go SBC respond %d: %v", code, err)
			return
		}
	}
	<-tx.Done() // sipgo ends the transaction when the handler returns
}

func (g *goSBC) stats() (invites []*sip.Request, acks, byes int, names []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]*sip.Request(nil), g.invites...), g.acks, g.byes, append([]string(nil), g.peerName...)
}

// inviteReq is the SBC's INVITE to Switchboard for called, from calling,
// with the given Contact host.
func (g *goSBC) inviteReq(called, calling, contactHost string) *sip.Request {
	_, portStr, _ := net.SplitHostPort(g.pbxAddr)
	port, _ := strconv.Atoi(portStr)
	ruri := sip.Uri{Scheme: "sip", User: called, Host: pbxFQDN, Port: port, UriParams: sip.NewParams()}
	ruri.UriParams.Add("user", "phone")
	req := sip.NewRequest(sip.INVITE, ruri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: calling, Host: sbcFQDN, UriParams: sip.NewParams()},
		Params: sip.NewParams()}
	from.Address.UriParams.Add("user", "phone")
	from.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(from)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: called, Host: pbxFQDN, UriParams: sip.NewParams()},
		Params: sip.NewParams()}
	to.Address.UriParams.Add("user", "phone")
	req.AppendHeader(to)
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: calling, Host: contactHost, Port: g.port,
		UriParams: sip.NewParams()}}
	contact.Address.UriParams.Add("transport", "tls")
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(sbcSDP("127.0.0.2", 40002))
	req.SetTransport("TLS")
	req.SetDestination(g.pbxAddr)
	return req
}

// call places a call to Switchboard and returns its final response (nil
// and the error when the request could not be sent). An answered call is
// ACKed, held for hold and hung up.
func (g *goSBC) call(t *testing.T, called, calling, contactHost string, hold time.Duration) (*sip.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := g.inviteReq(called, calling, contactHost)
	dua := &sipgo.DialogUA{Client: g.cli, ContactHDR: *req.Contact(), RewriteContact: true}
	sess, err := dua.WriteInvite(ctx, req)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{})
	res := sess.InviteResponse
	var derr *sipgo.ErrDialogResponse
	if errors.As(err, &derr) {
		return derr.Res, nil
	}
	if err != nil {
		return res, err
	}
	if err := sess.Ack(ctx); err != nil {
		t.Errorf("go SBC: ACK: %v", err)
	}
	if hold > 0 {
		select {
		case <-time.After(hold): // the call's talk time, not a wait for a condition
		case <-ctx.Done():
		}
	}
	if err := sess.Bye(ctx); err != nil {
		t.Errorf("go SBC: BYE: %v", err)
	}
	return res, nil
}

// -------------------------------------------------------------- the test

func TestDRTLSMutual(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	ca := newTestCA(t, "Switchboard Test CA")
	_, pbxCert, pbxKey := ca.issue(t, pbxFQDN, []string{pbxFQDN}, net.ParseIP("127.0.0.1"))
	sbcCert, _, _ := ca.issue(t, sbcFQDN, []string{sbcFQDN})
	wrongCert, _, _ := ca.issue(t, "evil.contoso.com", []string{"evil.contoso.com"})
	otherCert, _, _ := newTestCA(t, "Another CA").issue(t, sbcFQDN, []string{sbcFQDN})

	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	s := startServerWith(t, "--sip-tls", tlsAddr,
		"--tls-cert", writeTemp(t, "pbx.crt", pbxCert), "--tls-key", writeTemp(t, "pbx.key", pbxKey),
		"--tls-ca", writeTemp(t, "ca.crt", ca.pem), "--fqdn", pbxFQDN)

	sbc := startGoSBC(t, ca, sbcCert, sbc1IP, tlsAddr, false)
	gws := []drGateway{{FQDN: sbcFQDN, IP: sbc1IP, Port: sbc.port, Transport: "tls"}}
	s.apply(t, drDoc(gws, serialRoutes(gws)))
	phone := registerDevice(t, s, "alice", alicePassword, "dr_phone.xml", 5*time.Minute)

	t.Run("inbound over mutual TLS is delivered", func(t *testing.T) {
		before := len(invites(phone))
		res, err := sbc.call(t, "+14255550101", "+12065550100", sbcFQDN, 500*time.Millisecond)
		if err != nil || res == nil || res.StatusCode != 200 {
			t.Fatalf("SBC's call over TLS: %v, %v; want 200", res, err)
		}
		if c := res.Contact(); c == nil || !strings.EqualFold(c.Address.Host, pbxFQDN) {
			t.Errorf("Contact of Switchboard's 200 on the TLS trunk = %v, want our FQDN %s", c, pbxFQDN)
		}
		got := waitInvites(t, phone, before+1, 10*time.Second)
		if !strings.Contains(got[before], "sip:+12065550100@") {
			t.Errorf("alice's phone got %q, want the PSTN caller +12065550100", got[before])
		}
		s.waitCDR(t, "inbound TLS call", func(c cdr) bool {
			return dialedMatches(c.Dialed, "+14255550101") && c.Result == "answered"
		})
	})

	t.Run("outbound over mutual TLS reaches the SBC", func(t *testing.T) {
		dial(t, s, "uac.xml", dialedNational, sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
		invs, acks, _, names := sbc.stats()
		if len(invs) != 1 {
			t.Fatalf("the SBC got %d INVITEs over TLS, want 1", len(invs))
		}
		inv := invs[0]
		if inv.Recipient.User != dialedE164 || !inv.Recipient.UriParams.Has("user") {
			t.Errorf("Request-URI at the SBC = %s, want %s with user=phone", inv.Recipient.String(), dialedE164)
		}
		if c := inv.Contact(); c == nil || !strings.EqualFold(c.Address.Host, pbxFQDN) {
			t.Errorf("Contact of Switchboard's INVITE on the TLS trunk = %v, want our FQDN %s", c, pbxFQDN)
		}
		if !strings.EqualFold(inv.Transport(), "TLS") {
			t.Errorf("INVITE came over %s, want TLS", inv.Transport())
		}
		if len(names) == 0 || names[0] != pbxFQDN {
			t.Errorf("Switchboard's client certificate names %v, want %s (mutual TLS)", names, pbxFQDN)
		}
		if acks != 1 {
			t.Errorf("the SBC got %d ACKs, want 1", acks)
		}
		waitFor(t, 10*time.Second, 50*time.Millisecond, "BYE relayed to the SBC", func() (bool, string) {
			_, _, byes, _ := sbc.stats()
			return byes == 1, fmt.Sprintf("%d BYEs", byes)
		})
		pstnCDR(t, s, "answered", 200)
	})

	// refused sends a call from an SBC that must be refused with 403 and
	// a reason, and checks it reached nobody.
	refused := func(t *testing.T, g *goSBC, contactHost, reasonHas string) {
		t.Helper()
		before := len(invites(phone))
		res, err := g.call(t, "+14255550101", "+12065550100", contactHost, 0)
		if err != nil || res == nil {
			t.Fatalf("call: %v, %v; want a 403", res, err)
		}
		t.Logf("refused with %d %s", res.StatusCode, res.Reason)
		if res.StatusCode != 403 || !strings.Contains(strings.ToLower(res.Reason), reasonHas) {
			t.Errorf("got %d %q, want 403 with a reason about %q", res.StatusCode, res.Reason, reasonHas)
		}
		if n := len(invites(phone)); n != before {
			t.Errorf("alice's phone got %d INVITEs from a refused SBC", n-before)
		}
	}

	t.Run("Contact with an IP address is refused", func(t *testing.T) {
		refused(t, sbc, "127.0.0.2", "fqdn")
	})

	t.Run("certificate naming another host is refused", func(t *testing.T) {
		wrong := startGoSBC(t, ca, wrongCert, sbc2IP, tlsAddr, false)
		refused(t, wrong, sbcFQDN, "certificate")
	})

	t.Run("no client certificate is not delivered", func(t *testing.T) {
		// Without a certificate the peer is no gateway: it is challenged
		// like any stranger and has no credentials to answer with.
		anon := startGoSBC(t, ca, sbcCert, "127.0.0.5", tlsAddr, true)
		before := len(invites(phone))
		res, err := anon.call(t, "+14255550101", "+12065550100", sbcFQDN, 0)
		if err != nil || res == nil || res.StatusCode != 407 {
			t.Errorf("call without a client certificate: %v, %v; want a 407 challenge", res, err)
		}
		if n := len(invites(phone)); n != before {
			t.Errorf("alice's phone got %d INVITEs from a peer without a certificate", n-before)
		}
	})

	t.Run("certificate of another CA fails the handshake", func(t *testing.T) {
		// With TLS 1.3 the client finishes its side of the handshake
		// before the server checks its certificate: the refusal is the
		// alert read next.
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ca.pool,
			ServerName: pbxFQDN, GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return &otherCert, nil
			}})
		if err == nil {
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err = conn.Write([]byte("OPTIONS sip:" + pbxFQDN + " SIP/2.0\r\n\r\n")); err == nil {
				_, err = conn.Read(make([]byte, 512))
			}
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("TLS with a certificate of another CA: %v, want the handshake refused for its certificate", err)
		} else {
			t.Logf("refused: %v", err)
		}
	})

	t.Run("outbound to an SBC whose certificate names another host fails", func(t *testing.T) {
		wrong := startGoSBC(t, ca, wrongCert, "127.0.0.6", tlsAddr, false)
		gws := []drGateway{{FQDN: sbcFQDN, IP: "127.0.0.6", Port: wrong.port, Transport: "tls"}}
		s.apply(t, drDoc(gws, serialRoutes(gws)))
		dial(t, s, "uac_expect.xml", dialedNational, sippOpts{Name: "caller-wrong-sbc",
			Sets: [][2]string{{"expect", "503"}}}).requireOK(t)
		if invs, _, _, _ := wrong.stats(); len(invs) != 0 {
			t.Errorf("an SBC with the wrong certificate got %d INVITEs", len(invs))
		}
		if !s.Log.Contains("names none of the gateways") {
			t.Error("the server log does not say why the SBC's certificate was refused")
		}
	})
}
