// Package auth implements SIP digest authentication (RFC 3261, RFC 7616,
// RFC 8760): HA1 credentials, stateless signed nonces and response checks.
// It is pure: no sockets, no storage.
package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// HA1 returns hex(H(username:realm:password)) for the algorithm
// (pbx.AlgMD5 or pbx.AlgSHA256).
func HA1(algorithm, username, realm, password string) string {
	var h hash.Hash
	if algorithm == pbx.AlgSHA256 {
		h = sha256.New()
	} else {
		h = md5.New()
	}
	h.Write([]byte(username + ":" + realm + ":" + password))
	return hex.EncodeToString(h.Sum(nil))
}
