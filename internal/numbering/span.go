package numbering

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// span is a parsed inventory range: E.164 numbers of one length, lo..hi.
type span struct {
	lo, hi string
	a, b   uint64
	width  int // digits after "+"
}

// parseSpan reads "+14255550000-+14255550999".
func parseSpan(s string) (span, error) {
	lo, hi, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not FIRST-LAST, e.g. +14255550000-+14255550999", s)
	}
	a, err := e164Value(lo)
	if err != nil {
		return span{}, err
	}
	b, err := e164Value(hi)
	if err != nil {
		return span{}, err
	}
	switch {
	case len(lo) != len(hi):
		return span{}, fmt.Errorf("%s and %s have different lengths", lo, hi)
	case a > b:
		return span{}, fmt.Errorf("%s is after %s", lo, hi)
	}
	return span{lo: lo, hi: hi, a: a, b: b, width: len(lo) - 1}, nil
}

// e164Value checks an E.164 number ("+" and 8 to 15 digits, a country code
// libphonenumber knows) and returns its digits as a number.
func e164Value(n string) (uint64, error) {
	if len(n) < 9 || len(n) > 16 || n[0] != '+' || !digits(n[1:]) {
		return 0, fmt.Errorf("%q is not an E.164 number (+ and 8 to 15 digits)", n)
	}
	p, err := phonenumbers.Parse(n, "")
	if err != nil || phonenumbers.GetRegionCodeForCountryCode(int(p.GetCountryCode())) == "ZZ" {
		return 0, fmt.Errorf("%q has no known country code", n)
	}
	return strconv.ParseUint(n[1:], 10, 64)
}

func (s span) contains(n string) bool {
	if len(n) != s.width+1 || n[0] != '+' || !digits(n[1:]) {
		return false
	}
	v, err := strconv.ParseUint(n[1:], 10, 64)
	return err == nil && v >= s.a && v <= s.b
}

func (s span) overlaps(o span) bool {
	return s.width == o.width && s.a <= o.b && o.a <= s.b
}

// at returns the number of value v.
func (s span) at(v uint64) string {
	return fmt.Sprintf("+%0*d", s.width, v)
}

// errSpan is returned for a number outside every range.
var errSpan = errors.New("not in the number inventory")
