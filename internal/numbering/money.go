package numbering

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount of the operator's currency in millionths, so that
// rates such as 0.023 a minute add up exactly. Its text and JSON forms are
// decimal numbers ("0.023", "-1.5").
type Money int64

// Unit is one whole unit of currency.
const Unit Money = 1_000_000

// maxMoney bounds amounts to a trillion units: far beyond any balance, far
// from overflowing when multiplied by minutes.
const maxMoney = Money(1e12) * Unit

// ParseMoney reads a decimal amount with at most six decimals ("5", "0.023").
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || whole != "" && !digits(whole) || frac != "" && !digits(frac) {
		return 0, fmt.Errorf("%q is not an amount such as 5 or 0.023", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q has more than 6 decimals", s)
	}
	if len(whole) > 13 {
		return 0, errors.New("amount out of range")
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	m := Money(w)*Unit + Money(f)
	if m > maxMoney {
		return 0, errors.New("amount out of range")
	}
	if neg {
		m = -m
	}
	return m, nil
}

// MoneyFromFloat converts a configured amount (YAML numbers are floats),
// rounding to millionths.
func MoneyFromFloat(f float64) (Money, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(maxMoney/Unit) {
		return 0, fmt.Errorf("%v is not a usable amount", f)
	}
	return Money(math.Round(f * float64(Unit))), nil
}

// String formats m as a decimal without trailing zeros.
func (m Money) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	s := sign + strconv.FormatInt(int64(m/Unit), 10)
	if f := m % Unit; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", int64(f)), "0")
	}
	return s
}

// MarshalJSON writes m as a JSON number.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalJSON reads a JSON number or a string holding one.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// times is m for n minutes, saturating instead of overflowing.
func (m Money) times(n int) Money {
	if n <= 0 || m == 0 {
		return 0
	}
	if m > maxMoney/Money(n) {
		return maxMoney
	}
	return m * Money(n)
}
