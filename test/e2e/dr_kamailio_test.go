package e2e

// Direct Routing through a real SBC stand-in: Kamailio 5.6 (Debian packages
// kamailio and kamailio-tls-modules) as the customer's SBC, with SIP over
// TLS and mutual authentication towards Switchboard and plain UDP towards a
// SIPp "PSTN carrier". Kamailio is a record-routing proxy, so every
// in-dialog request (ACK, BYE) must carry the dialog's route set back
// through it (RFC 3261 §12): a request without it is refused with 404 and
// the call would never end cleanly. Config: kamailio/sbc.cfg, tls.cfg.

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// kamailioModules is where Debian installs Kamailio's modules.
const kamailioModules = "/usr/lib/x86_64-linux-gnu/kamailio/modules"

func TestDRKamailioSBC(t *testing.T) {
	needSIPp(t)
	needKamailioTLS(t)
	t.Parallel()
	ca := newTestCA(t, "Switchboard Test CA")
	_, pbxCert, pbxKey := ca.issue(t, pbxFQDN, []string{pbxFQDN}, net.ParseIP("127.0.0.1"))
	_, sbcCert, sbcKey := ca.issue(t, sbcFQDN, []string{sbcFQDN})

	tlsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	s := startServerWith(t, "--sip-tls", tlsAddr,
		"--tls-cert", writeTemp(t, "pbx.crt", pbxCert), "--tls-key", writeTemp(t, "pbx.key", pbxKey),
		"--tls-ca", writeTemp(t, "ca.crt", ca.pem), "--fqdn", pbxFQDN)

	carrier := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))    // SIPp answering calls from the PSTN side
	carrierUAC := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))) // SIPp placing calls from the PSTN side
	kam := startKamailioSBC(t, kamailioSBC{IP: sbc1IP, TLSPort: sbcPort(t, sbc1IP), UDPPort: sbcPort(t, sbc1IP),
		FQDN: sbcFQDN, PBXFQDN: pbxFQDN, Switchboard: tlsAddr, Carrier: carrier, CarrierUAC: carrierUAC,
		Cert: writeTemp(t, "sbc.crt", sbcCert), Key: writeTemp(t, "sbc.key", sbcKey), CA: writeTemp(t, "ca.crt", ca.pem)})

	gws := []drGateway{{FQDN: sbcFQDN, IP: sbc1IP, Port: kam.TLSPort, Transport: "tls"}}
	s.apply(t, drDoc(gws, serialRoutes(gws)))

	t.Run("a user calls the PSTN through the SBC", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(carrier)
		p, _ := strconv.Atoi(port)
		uas := startSipp(t, sippOpts{Name: "carrier-uas", Scenario: "carrier_rr.xml", IP: host, Port: p, Calls: 1,
			Timeout: 60 * time.Second, RecvTimeout: 20 * time.Second})
		dial(t, s, "uac.xml", dialedNational, sippOpts{PauseMS: 500, Keys: [][2]string{rtpStreamKey(t)}}).requireOK(t)
		waitFor(t, 15*time.Second, 50*time.Millisecond, "the carrier's call to end (BYE through the SBC)", func() (bool, string) {
			return !uas.running(), "carrier SIPp still running"
		})
		uas.requireOK(t)
		if got := logged(uas, "INVITE "); len(got) != 1 || !strings.Contains(got[0], "sip:"+dialedE164+"@") {
			t.Errorf("the carrier got %q, want one INVITE for %s", got, dialedE164)
		}
		s.waitCDR(t, "outbound call through Kamailio", func(c cdr) bool {
			return dialedMatches(c.Dialed, dialedNational) && c.Result == "answered"
		})
	})

	t.Run("the PSTN calls a user through the SBC", func(t *testing.T) {
		phone := registerDevice(t, s, "alice", alicePassword, "dr_phone.xml", 2*time.Minute)
		host, port, _ := net.SplitHostPort(carrierUAC)
		p, _ := strconv.Atoi(port)
		runSipp(t, sippOpts{Name: "carrier-uac", Scenario: "sbc_invite.xml", Remote: net.JoinHostPort(sbc1IP, strconv.Itoa(kam.UDPPort)),
			IP: host, Port: p, CSV: []string{strings.Join([]string{"+14255550101", sbcFQDN, "+12065550100"}, ";")},
			Calls: 1, PauseMS: 500, Sets: [][2]string{{"expect", "200"}}, Timeout: 60 * time.Second,
			RecvTimeout: 20 * time.Second}).requireOK(t)
		if got := waitInvites(t, phone, 1, 10*time.Second); !strings.Contains(got[0], "+12065550100") {
			t.Errorf("alice's phone got %q, want the PSTN caller +12065550100", got[0])
		}
		s.waitCDR(t, "inbound call through Kamailio", func(c cdr) bool {
			return dialedMatches(c.Dialed, "+14255550101") && c.Result == "answered"
		})
	})

	if refused := kam.log.grep("without our Route header", false); len(refused) > 0 {
		t.Errorf("Kamailio refused in-dialog requests that bypassed the route set: %q", refused)
	}
}

// needKamailioTLS fails when Kamailio or its TLS module is missing: the
// full tier installs them.
func needKamailioTLS(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Fatalf("kamailio not found (Debian package kamailio; `make test` installs it): %v", err)
	}
	if _, err := os.Stat(filepath.Join(kamailioModules, "tls.so")); err != nil {
		t.Fatalf("Kamailio's TLS module is missing (Debian package kamailio-tls-modules): %v", err)
	}
}

// kamailioSBC are the values of kamailio/sbc.cfg and tls.cfg.
type kamailioSBC struct {
	IP                string // the SBC's own loopback address (its gateway address)
	TLSPort, UDPPort  int    // towards Switchboard, towards the carrier
	FQDN, PBXFQDN     string // the SBC's and Switchboard's names
	Switchboard       string // Switchboard's TLS listener, HOST:PORT
	Carrier           string // where calls from Switchboard go
	CarrierUAC        string // where in-dialog requests of the carrier's calls go
	Cert, Key, CA     string // PEM files
	ModulePath        string
	TLSConfig         string
	log               *procLog
	configDir, runDir string
}

// startKamailioSBC renders the configuration and runs Kamailio in the
// foreground until the test ends, then waits for its TLS port.
func startKamailioSBC(t *testing.T, k kamailioSBC) *kamailioSBC {
	t.Helper()
	needLoopbackAlias(t, k.IP)
	dir := t.TempDir()
	k.ModulePath, k.TLSConfig = kamailioModules, filepath.Join(dir, "tls.cfg")
	render := func(src, dst string) {
		tmpl, err := template.ParseFiles(filepath.Join("kamailio", src))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, k); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	render("tls.cfg", k.TLSConfig)
	cfg := filepath.Join(dir, "sbc.cfg")
	render("sbc.cfg", cfg)
	l, err := newProcLog(filepath.Join(dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	k.log = l
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, "kamailio", "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8",
		"-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	cmd.Stdout, cmd.Stderr = l, l
	// Kamailio forks its workers: stop the whole process group, and do
	// not wait for pipes a stray child would hold open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("kamailio: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			dumpLines(t, "kamailio", l.snapshot(), 200)
		}
		l.close()
	})
	addr := net.JoinHostPort(k.IP, strconv.Itoa(k.TLSPort))
	waitFor(t, 15*time.Second, 100*time.Millisecond, "Kamailio listening on tls:"+addr, func() (bool, string) {
		select {
		case <-exited:
			t.Fatalf("kamailio exited at start: %s", strings.Join(l.snapshot(), " | "))
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false, err.Error()
		}
		_ = c.Close()
		return true, ""
	})
	return &k
}
