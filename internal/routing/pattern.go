package routing

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// MatchTimeout bounds one match of a pattern that needs the backtracking
// (.NET) engine, so that a catastrophic pattern cannot stall call setup.
const MatchTimeout = 100 * time.Millisecond

// Engines a Pattern can be compiled to (see Pattern.Engine).
const (
	EngineRE2    = "re2"    // Go regexp: linear time, used whenever it means the same thing
	EngineDotNet = "dotnet" // regexp2 in .NET mode: lookaround, named groups, backreferences...
)

// Pattern is a .NET-style regular expression compiled once. It runs on Go's
// RE2 engine when the expression compiles there and means the same thing
// there, and on regexp2 in .NET mode (with a MatchTimeout) otherwise: for
// lookaround such as ^\+1(?!(900|976))\d{10}$, backreferences, named groups
// (numbered after the unnamed ones, as .NET does), character-class
// subtraction, \A..\Z and the like.
//
// The engines differ only on inputs that dial strings never contain: RE2's
// \d, \w and \s are ASCII-only, and RE2's $ does not match before a final
// newline. Table.Route rejects control characters before any match.
//
// A Pattern is safe for concurrent use.
type Pattern struct {
	src    string
	re     *regexp.Regexp
	net    *regexp2.Regexp
	groups map[int]bool   // valid group numbers, 0 included
	last   int            // highest group number ($+)
	names  map[string]int // named groups (dotnet only)
}

// CompilePattern compiles a .NET-style regular expression. The error says
// what is wrong with it, without repeating the expression.
func CompilePattern(expr string) (*Pattern, error) {
	if expr == "" {
		return nil, errors.New("must not be empty (use .* to match everything)")
	}
	p := &Pattern{src: expr}
	if re, err := regexp.Compile(expr); err == nil && sameInRE2(expr, re) {
		p.re = re
		p.groups = make(map[int]bool, re.NumSubexp()+1)
		for i := 0; i <= re.NumSubexp(); i++ {
			p.groups[i] = true
		}
		p.last = re.NumSubexp()
		return p, nil
	}
	net, err := regexp2.Compile(expr, regexp2.None)
	if err != nil {
		msg := err.Error()
		// regexp2 says `error parsing regexp: <what> in `<expr>``; keep <what>.
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		if i := strings.LastIndex(msg, " in `"); i > 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("not a valid regular expression: %s", msg)
	}
	net.MatchTimeout = MatchTimeout
	p.net = net
	p.groups = map[int]bool{}
	for _, n := range net.GetGroupNumbers() {
		p.groups[n] = true
		p.last = max(p.last, n)
	}
	for _, name := range net.GetGroupNames() {
		if _, err := strconv.Atoi(name); err != nil {
			if p.names == nil {
				p.names = map[string]int{}
			}
			p.names[name] = net.GroupNumberFromName(name)
		}
	}
	return p, nil
}

// sameInRE2 reports whether an expression that RE2 accepted means the same
// thing in .NET. Named groups are numbered differently (.NET numbers them
// after the unnamed ones) and "[a-z-[aeiou]]" is class subtraction in .NET
// but a different class in RE2.
func sameInRE2(expr string, re *regexp.Regexp) bool {
	for _, name := range re.SubexpNames() {
		if name != "" {
			return false
		}
	}
	return !strings.Contains(expr, "-[")
}

// String returns the expression as written.
func (p *Pattern) String() string { return p.src }

// Engine returns EngineRE2 or EngineDotNet.
func (p *Pattern) Engine() string {
	if p.re != nil {
		return EngineRE2
	}
	return EngineDotNet
}

// MatchString reports whether s contains a match. The error is a match
// timeout (or backtracking limit) of the .NET engine.
func (p *Pattern) MatchString(s string) (bool, error) {
	if p.re != nil {
		return p.re.MatchString(s), nil
	}
	return p.net.MatchString(s)
}

// Translation is a pattern and the translation that replaces a matching
// input, compiled once: normalisation rules and gateway translation rules.
type Translation struct {
	Pattern *Pattern
	src     string
	parts   []part
}

// part of a compiled translation: a literal, or a reference (group number,
// or one of the special references below when negative).
type part struct {
	lit string
	ref int
}

const (
	refLiteral   = -1 // lit
	refLeft      = -2 // $` text before the match
	refRight     = -3 // $' text after the match
	refLastGroup = -4 // $+ last group
	refInput     = -5 // $_ whole input
)

// CompileTranslation compiles pattern and its translation. The translation
// uses .NET substitution syntax: $1..$n and ${n} (group n), ${name}, $0 and
// $& (the whole match), $` and $' (text before and after the match), $+
// (the last group), $_ (the input) and $$ (a dollar sign). Unlike .NET,
// which copies a reference to a group that does not exist literally, such a
// reference is an error here: it would put "$2" into a phone number.
func CompileTranslation(pattern, translation string) (*Translation, error) {
	p, err := CompilePattern(pattern)
	if err != nil {
		return nil, err
	}
	return newTranslation(p, translation)
}

func newTranslation(p *Pattern, tmpl string) (*Translation, error) {
	t := &Translation{Pattern: p, src: tmpl}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String(), ref: refLiteral})
			lit.Reset()
		}
	}
	ref := func(n int) {
		flush()
		t.parts = append(t.parts, part{ref: n})
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '$' || i+1 == len(tmpl) {
			lit.WriteByte(c)
			continue
		}
		next := tmpl[i+1]
		switch {
		case next == '$':
			lit.WriteByte('$')
			i++
		case next >= '0' && next <= '9':
			j := i + 1
			for j < len(tmpl) && tmpl[j] >= '0' && tmpl[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(tmpl[i+1 : j])
			if err != nil || !p.groups[n] {
				return nil, fmt.Errorf("translation refers to group %s, but the pattern has %s", tmpl[i:j], p.describeGroups())
			}
			ref(n)
			i = j - 1
		case next == '{':
			end := strings.IndexByte(tmpl[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("translation has an unterminated ${ at offset %d", i)
			}
			name := tmpl[i+2 : i+2+end]
			n, err := strconv.Atoi(name)
			if err == nil && p.groups[n] {
				ref(n)
			} else if num, ok := p.names[name]; ok && err != nil {
				ref(num)
			} else {
				return nil, fmt.Errorf("translation refers to group ${%s}, but the pattern has %s", name, p.describeGroups())
			}
			i += 2 + end
		case next == '&':
			ref(0)
			i++
		case next == '`':
			ref(refLeft)
			i++
		case next == '\'':
			ref(refRight)
			i++
		case next == '+':
			ref(refLastGroup)
			i++
		case next == '_':
			ref(refInput)
			i++
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

func (p *Pattern) describeGroups() string {
	n := len(p.groups) - 1
	s := "no groups"
	switch {
	case n == 1:
		s = "1 group"
	case n > 1:
		s = strconv.Itoa(n) + " groups"
	}
	if len(p.names) > 0 {
		names := make([]string, 0, len(p.names))
		for name := range p.names {
			names = append(names, name)
		}
		slices.Sort(names)
		s += " (named " + strings.Join(names, ", ") + ")"
	}
	return s
}

// String returns the translation as written.
func (t *Translation) String() string { return t.src }

// Apply matches s against the pattern; when it matches, the whole of s is
// replaced by the expanded translation (the Teams/Skype for Business
// semantics for normalisation and translation rules). ok is false when s
// does not match. err is a match timeout of the .NET engine.
func (t *Translation) Apply(s string) (out string, ok bool, err error) {
	if re := t.Pattern.re; re != nil {
		if !re.MatchString(s) {
			return "", false, nil
		}
		loc := re.FindStringSubmatchIndex(s)
		return t.expand(s, loc[0], loc[1], func(n int) string {
			if 2*n+1 >= len(loc) || loc[2*n] < 0 {
				return ""
			}
			return s[loc[2*n]:loc[2*n+1]]
		}), true, nil
	}
	m, err := t.Pattern.net.FindStringMatch(s)
	if err != nil || m == nil {
		return "", false, err
	}
	start, length := m.ByteRange()
	return t.expand(s, start, start+length, func(n int) string {
		g := m.GroupByNumber(n)
		if g == nil || len(g.Captures) == 0 {
			return ""
		}
		return g.String()
	}), true, nil
}

func (t *Translation) expand(s string, start, end int, group func(int) string) string {
	if len(t.parts) == 1 && t.parts[0].ref == refLiteral {
		return t.parts[0].lit
	}
	var b strings.Builder
	b.Grow(len(t.src) + len(s))
	for _, p := range t.parts {
		switch p.ref {
		case refLiteral:
			b.WriteString(p.lit)
		case refLeft:
			b.WriteString(s[:start])
		case refRight:
			b.WriteString(s[end:])
		case refLastGroup:
			b.WriteString(group(t.Pattern.last))
		case refInput:
			b.WriteString(s)
		default:
			b.WriteString(group(p.ref))
		}
	}
	return b.String()
}
