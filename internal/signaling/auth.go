package signaling

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/internal/auth"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// authenticate checks the digest credentials of req for the address of
// record aor (user@domain). On success it returns the user. Otherwise it
// has already answered with a challenge (401 for REGISTER, 407 otherwise)
// that is the same whether the user exists or not: no enumeration.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, aor string) (*pbx.User, bool) {
	proxy := req.Method != sip.REGISTER
	hdrName, code, reason, chName := "Authorization", 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		hdrName, code, reason, chName = "Proxy-Authorization", 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	_, realm, _ := strings.Cut(aor, "@")
	challenge := func(stale bool, why string) (*pbx.User, bool) {
		if why != "" {
			s.securityEvent("auth-failed", req, aor, why)
		}
		if tx == nil {
			return nil, false
		}
		a := s.answer(req, tx, code, reason)
		nonce := s.deps.Nonces.Issue()
		for _, alg := range s.deps.Nonces.Algorithms() { // one challenge each, one nonce
			a.begin(chName)
			auth.Challenge{Realm: realm, Stale: stale, Algorithm: alg}.Write(a.value(), nonce)
			a.end()
		}
		a.stale = stale
		a.send()
		return nil, false
	}
	var creds auth.Credentials // on the stack: the parser does not allocate
	found, offered := false, false
	for _, h := range req.Headers() { // not GetHeaders: see headerNamed
		if !strings.EqualFold(h.Name(), hdrName) {
			continue
		}
		offered = true
		if auth.ParseCredentialsInto(&creds, h.Value()) != nil {
			continue
		}
		if strings.EqualFold(creds.Realm, realm) {
			found = true
			break
		}
	}
	if !found {
		if offered {
			return challenge(false, "no credentials for realm")
		}
		return challenge(false, "")
	}
	alg := creds.Algorithm
	if alg == "" {
		alg = pbx.AlgMD5
	}
	user, known := s.deps.Directory().User(aor)
	ha1 := auth.DummyHA1(alg)
	if known {
		found := false
		for _, cr := range user.Credentials {
			if strings.EqualFold(cr.Realm, realm) && strings.EqualFold(cr.Algorithm, alg) &&
				strings.EqualFold(cr.Username, creds.Username) {
				ha1, found = cr.HA1, true
				break
			}
		}
		known = found
	}
	ok := auth.Verify(&creds, string(req.Method), ha1) && known
	switch s.deps.Nonces.Check(creds.Nonce) {
	case auth.NonceValid:
	case auth.NonceStale:
		if ok {
			return challenge(true, "")
		}
		return challenge(false, "bad credentials")
	default:
		return challenge(false, "invalid nonce")
	}
	if !ok {
		return challenge(false, "bad credentials")
	}
	return user, true
}

// securityEvent writes one line in a stable format for fail2ban and SIEMs.
func (s *Server) securityEvent(kind string, req *sip.Request, user, why string) {
	s.log.Warn("security event", "event", kind, "source", req.Source(), "user", user,
		"method", string(req.Method), "reason", why)
}

// aorOf returns user@host of a SIP URI, lowercased.
func aorOf(u sip.Uri) string {
	return strings.ToLower(u.User + "@" + u.Host)
}
