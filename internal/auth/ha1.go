// Package auth implements SIP digest authentication (RFC 3261, RFC 7616,
// RFC 8760): HA1 credentials, stateless signed nonces and response checks.
// It is pure: no sockets, no storage.
package auth

import "github.com/switchboard-pbx/switchboard/internal/pbx"

// HA1 returns hex(H(username:realm:password)) for the algorithm
// (pbx.AlgMD5 or pbx.AlgSHA256). See pbx.HA1.
func HA1(algorithm, username, realm, password string) string {
	return pbx.HA1(algorithm, username, realm, password)
}
