package e2e

// Hybrid over TLS (issue 6: "TLS with mutual authentication in
// production"): the cloud–edge trunk runs over mutual TLS with
// certificates made in the test from a test CA. The edge dials the cloud's
// sipTls address presenting its certificate, the cloud dials the edge's;
// each checks the other's names (the host of cloud.sip, of the edge's
// sipAddress: here 127.0.0.1, an IP SAN). The cloud identifies the edge by
// its certificate: a peer with a certificate for another name, from the
// same CA, is refused. The phones stay on UDP (Debian's SIPp has no TLS).

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestHybridOverMutualTLS(t *testing.T) {
	needSIPp(t)
	t.Parallel()
	ca := newTestCA(t, "Switchboard Hybrid Test CA")
	loop := net.ParseIP("127.0.0.1")
	_, cloudCert, cloudKey := ca.issue(t, pbxFQDN, []string{pbxFQDN}, loop)
	_, edgeCert, edgeKey := ca.issue(t, "edge1.contoso.com", []string{"edge1.contoso.com"}, loop)
	wrongCert, _, _ := ca.issue(t, "other.contoso.com", []string{"other.contoso.com"})
	caFile := writeTemp(t, "ca.crt", ca.pem)

	cloudTLS := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	edgeTLS := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	p := startHybridWith(t, hybridSetup{
		doc: func(edgeSIP string) string {
			return strings.Replace(hybridDoc(edgeSIP, "", ""), `sipAddress: "`+edgeSIP+`"}`,
				`sipAddress: "`+edgeSIP+`", transport: tls}`, 1)
		},
		example: "edge-tls.yaml",
		cloudFlags: []string{"--sip-tls", cloudTLS, "--tls-cert", writeTemp(t, "cloud.crt", cloudCert),
			"--tls-key", writeTemp(t, "cloud.key", cloudKey), "--tls-ca", caFile},
		edgeTrunk: edgeTLS,
		cloudSIP:  cloudTLS,
		keys: map[string]string{"sipTls": edgeTLS, "tlsCert": writeTemp(t, "edge.crt", edgeCert),
			"tlsKey": writeTemp(t, "edge.key", edgeKey), "tlsCa": caFile, "fqdn": "127.0.0.1"},
	})
	phone(t, p.edge, "bob", bobPassword, 5*time.Minute)
	phone(t, p.cloud, "alice", alicePassword, 5*time.Minute)

	// The edge is known to the cloud by its certificate only (a TLS edge
	// is never identified by address): had the cloud not recognised it,
	// the edge's INVITE would have been challenged and the call failed.
	t.Run("a cloud user calls an edge user over the TLS trunk", func(t *testing.T) {
		callAs(t, p.cloud, "alice", alicePassword, "1002", sippOpts{Name: "tls-alice-to-bob", PauseMS: 1000,
			Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
		waitFor(t, 10*time.Second, 100*time.Millisecond, "the cloud's CDR of alice's call via the edge", func() (bool, string) {
			for _, c := range p.cloud.hybridCDRs(t) {
				if c.Callee == "bob@contoso.com" && c.Result == "answered" && c.Via == "edge" {
					return true, ""
				}
			}
			return false, "none yet"
		})
	})
	t.Run("and back", func(t *testing.T) {
		callAs(t, p.edge, "bob", bobPassword, "1001", sippOpts{Name: "tls-bob-to-alice", PauseMS: 1000,
			Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
	})

	t.Run("a peer with a certificate for another name is refused", func(t *testing.T) {
		// Same CA, valid chain, but the certificate names neither the
		// edge's sipAddress host nor a gateway: the cloud refuses it
		// whatever its source address or From claims.
		impostor := startGoSBC(t, ca, wrongCert, "127.0.0.1", cloudTLS, false)
		res, err := impostor.call(t, "1001", "bob", "other.contoso.com", 0)
		if err != nil || res == nil {
			t.Fatalf("impostor's call: %v, %v; want a 403", res, err)
		}
		if res.StatusCode != 403 || !strings.Contains(strings.ToLower(res.Reason), "certificate") {
			t.Errorf("impostor got %d %q, want 403 about its certificate", res.StatusCode, res.Reason)
		}
		// The same towards the edge: only the cloud's certificate (naming
		// the host of cloud.sip) is the cloud.
		towardsEdge := startGoSBCTo(t, ca, wrongCert, "127.0.0.1", edgeTLS, "edge1.contoso.com", false)
		res, err = towardsEdge.call(t, "1002", "alice", "other.contoso.com", 0)
		if err != nil || res == nil {
			t.Fatalf("impostor's call to the edge: %v, %v; want a 403", res, err)
		}
		if res.StatusCode != 403 || !strings.Contains(strings.ToLower(res.Reason), "certificate") {
			t.Errorf("impostor got %d %q from the edge, want 403 about its certificate", res.StatusCode, res.Reason)
		}
	})
}
