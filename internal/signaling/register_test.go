package signaling

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/registrar"
)

// termTx records whether the handler ended the transaction.
type termTx struct {
	benchTx
	terminated bool
}

func (t *termTx) Terminate() { t.terminated = true }

// TestRegisterChallengeEndsTransaction: the 401 of a REGISTER does not keep
// its server transaction for Timer J; the 200's transaction is kept.
func TestRegisterChallengeEndsTransaction(t *testing.T) {
	const name = "u00001"
	us := []pbx.User{{Tenant: "bench1", SIPAddress: name + "@" + benchRealm,
		Credentials: []pbx.Credential{{Realm: benchRealm, Username: name, Algorithm: pbx.AlgMD5,
			HA1: auth.HA1(pbx.AlgMD5, name, benchRealm, "pw-"+name)}}}}
	dir := directory.Build([]pbx.Tenant{{Name: "bench1", Domains: []string{benchRealm}}}, us)
	nonces := auth.NewNonces([]byte("0123456789abcdef0123456789abcdef"), 5*time.Minute, time.Now)
	s, err := New(Config{Listen: "127.0.0.1:5060"}, Deps{Directory: func() *directory.Directory { return dir },
		Registrar: registrar.New(nopBindings{}, registrar.Config{}, nil, nil), Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	defer s.ua.Close()
	parse := func(raw []byte) *sip.Request {
		m, err := sip.ParseMessage(raw)
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("127.0.0.1:5072")
		return req
	}

	tx := &termTx{benchTx: benchTx{done: make(chan struct{})}}
	s.handleRegister(parse(benchRegisterMsg(name, 1, "")), tx)
	if tx.res == nil || tx.res.StatusCode != 401 || !tx.terminated {
		t.Fatalf("first REGISTER: response %v, terminated %v; want 401 and the transaction ended", tx.res, tx.terminated)
	}

	nonce := nonces.Issue()
	ha1 := benchHex(name + ":" + benchRealm + ":pw-" + name)
	ha2 := benchHex("REGISTER:sip:" + benchRealm)
	resp := benchHex(ha1 + ":" + nonce + ":00000001:6b8b4567:auth:" + ha2)
	authz := `Digest username="` + name + `",realm="` + benchRealm + `",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:` +
		benchRealm + `",nonce="` + nonce + `",response="` + resp + `",algorithm=MD5`
	tx = &termTx{benchTx: benchTx{done: make(chan struct{})}}
	s.handleRegister(parse(benchRegisterMsg(name, 2, authz)), tx)
	if tx.res == nil || tx.res.StatusCode != 200 || tx.terminated {
		t.Fatalf("second REGISTER: response %v, terminated %v; want 200 and the transaction kept", tx.res, tx.terminated)
	}
}
