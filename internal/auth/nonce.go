package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// DefaultNonceTTL is the nonce lifetime used when NewNonces is given ttl <= 0.
const DefaultNonceTTL = 5 * time.Minute

const (
	nonceTimeLen = 8  // big-endian Unix nanoseconds
	nonceRandLen = 16 // crypto/rand bytes
	nonceMACLen  = sha256.Size
	nonceBodyLen = nonceTimeLen + nonceRandLen
	nonceRawLen  = nonceBodyLen + nonceMACLen
	nonceEncLen  = (nonceRawLen*8 + 5) / 6 // unpadded base64
)

// nonceEncoding is base64url without padding: the nonce needs no escaping in
// a quoted-string and no '=' characters confuse naive parsers.
func nonceEncoding() *base64.Encoding { return base64.RawURLEncoding }

// NonceState is the outcome of checking a nonce.
type NonceState int

// Nonce states. The zero value is NonceInvalid so a forgotten check fails closed.
const (
	NonceInvalid NonceState = iota // not issued with this secret, or not a nonce at all
	NonceValid                     // signature good and younger than the TTL
	NonceStale                     // signature good but older than the TTL: re-challenge with stale=true
)

// String returns "invalid", "valid" or "stale".
func (s NonceState) String() string {
	switch s {
	case NonceValid:
		return "valid"
	case NonceStale:
		return "stale"
	default:
		return "invalid"
	}
}

// Nonces issues and checks stateless digest nonces:
// base64url(timestamp || random || HMAC-SHA256(secret, timestamp || random)).
// Any node sharing the secret can check a nonce another node issued; nothing
// is remembered, so nonce-count replay tracking is not done here.
// A Nonces is immutable and safe for concurrent use.
type Nonces struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	algs   []string   // challenge order; DefaultAlgorithms when empty
	macs   *sync.Pool // of *nonceWork
}

// NewNonces returns a nonce issuer/checker. secret should be at least 32
// random bytes shared by every node of the cluster (it is copied); ttl <= 0
// means DefaultNonceTTL; now nil means time.Now. It panics if secret is empty,
// since anyone could then forge nonces.
func NewNonces(secret []byte, ttl time.Duration, now func() time.Time) *Nonces {
	if len(secret) == 0 {
		panic("auth: NewNonces with an empty secret")
	}
	if ttl <= 0 {
		ttl = DefaultNonceTTL
	}
	if now == nil {
		now = time.Now
	}
	key := append([]byte(nil), secret...)
	return &Nonces{secret: key, ttl: ttl, now: now, algs: DefaultAlgorithms(),
		macs: &sync.Pool{New: func() any { return &nonceWork{mac: hmac.New(sha256.New, key)} }}}
}

// TTL returns the lifetime after which a nonce is stale.
func (n *Nonces) TTL() time.Duration { return n.ttl }

// Issue returns a fresh nonce.
func (n *Nonces) Issue() string {
	w := n.macs.Get().(*nonceWork)
	raw := w.raw[:]
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(n.now().UnixNano()))
	_, _ = rand.Read(raw[nonceTimeLen:nonceBodyLen]) // never fails since Go 1.24
	w.sign(raw[nonceBodyLen:nonceBodyLen], raw[:nonceBodyLen])
	nonceEncoding().Encode(w.enc[:], raw)
	nonce := string(w.enc[:])
	n.macs.Put(w)
	return nonce
}

// Check says whether nonce was issued with this secret and is still fresh.
// A nonce whose timestamp is ahead of the local clock (clock skew between
// nodes) is accepted while it is less than one TTL in the future.
func (n *Nonces) Check(nonce string) NonceState {
	if len(nonce) != nonceEncLen {
		return NonceInvalid
	}
	w := n.macs.Get().(*nonceWork)
	defer n.macs.Put(w)
	copy(w.enc[:], nonce)
	raw := w.raw[:]
	if k, err := nonceEncoding().Decode(raw, w.enc[:]); err != nil || k != nonceRawLen {
		return NonceInvalid
	}
	if !hmac.Equal(w.sign(w.sum[:0], raw[:nonceBodyLen]), raw[nonceBodyLen:]) {
		return NonceInvalid
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTimeLen])))
	age := n.now().Sub(issued)
	if age > n.ttl || age < -n.ttl {
		return NonceStale
	}
	return NonceValid
}

// nonceWork is what issuing or checking a nonce works in, pooled: a keyed
// HMAC state (hmac.New costs five allocations, a Reset none) and the
// nonce's bytes, which would escape to the heap through the hash's
// interface if they were on the stack.
type nonceWork struct {
	mac hash.Hash
	raw [nonceRawLen]byte
	enc [nonceEncLen]byte
	sum [nonceMACLen]byte
}

// sign appends HMAC-SHA256(secret, body) to dst.
func (w *nonceWork) sign(dst, body []byte) []byte {
	w.mac.Reset()
	w.mac.Write(body)
	return w.mac.Sum(dst)
}
