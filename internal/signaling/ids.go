package signaling

import "math/rand/v2"

// The random tokens we put in messages: tags, Via branches, Call-IDs.
//
// They are written in lowercase letters and digits only. sipgo's
// generators draw from upper and lower case, and one To-tag in tens of
// thousands came out containing "CSeq" (e.g. "8CSeqBNhYmvP5CP6"): SIPp
// finds a response's CSeq method with strstr(msg, "CSeq"), so it read the
// method from the To header, took the response for an unexpected one and
// aborted the call (the rare bench failures of sessions 6-8: "while
// expecting '401' (index 1), received 401 Unauthorized"). Other naive
// parsers in the field may do the same; a token without capitals cannot
// spell a header name.
//
// Each character carries 5 bits from math/rand/v2's global generator
// (ChaCha8, seeded by the runtime): a 16-character tag has 80 bits, well
// over the 32 RFC 3261 §19.3 asks for.

// idAlphabet has 32 characters: one per 5 random bits.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// appendRandom appends n random characters of idAlphabet to b.
func appendRandom(b []byte, n int) []byte {
	var bits uint64
	left := 0
	for range n {
		if left < 5 {
			bits, left = rand.Uint64(), 64
		}
		b = append(b, idAlphabet[bits&31])
		bits >>= 5
		left -= 5
	}
	return b
}

// randomToken is prefix and n random characters, in one allocation.
func randomToken(prefix string, n int) string {
	var buf [64]byte
	return string(appendRandom(append(buf[:0], prefix...), n))
}

// newTag is a From- or To-tag.
func newTag() string { return randomToken("", 16) }

// newBranch is a Via branch, with RFC 3261's magic cookie.
func newBranch() string { return randomToken("z9hG4bK", 16) }

// newCallID is the Call-ID of a dialog we start.
func newCallID() string { return randomToken("sb-", 24) }
