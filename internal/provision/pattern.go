package provision

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2/v2"
)

// PatternGroups compiles a number pattern the way the routing engine does
// and returns its number of capturing groups. Patterns are .NET regular
// expressions, as admins export them from Teams and Skype for Business:
// Go's RE2 compiles most of them; those it cannot (lookahead, lookbehind,
// backreferences) are compiled with regexp2 in its .NET mode.
func PatternGroups(pattern string) (int, error) {
	if re, err := regexp.Compile(pattern); err == nil {
		return re.NumSubexp(), nil
	}
	re, err := regexp2.Compile(pattern)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		return 0, fmt.Errorf("%s", msg)
	}
	return len(re.GetGroupNumbers()) - 1, nil
}

// checkPattern checks a pattern and the translation that uses its groups
// ($1, $2...; "$$" is a literal "$"). translationField is empty when the
// object has no translation.
func (c *checker) checkPattern(patternField, pattern, translationField, translation string) {
	if pattern == "" {
		c.add(patternField, "must not be empty")
		return
	}
	groups, err := PatternGroups(pattern)
	if err != nil {
		c.add(patternField, "%q is not a valid regular expression: %v", pattern, err)
		return
	}
	if translationField == "" {
		return
	}
	for i := 0; i < len(translation); i++ {
		if translation[i] != '$' || i+1 >= len(translation) {
			continue
		}
		if translation[i+1] == '$' {
			i++
			continue
		}
		j := i + 1
		for j < len(translation) && translation[j] >= '0' && translation[j] <= '9' {
			j++
		}
		if j == i+1 {
			continue
		}
		n, _ := strconv.Atoi(translation[i+1 : j])
		if n > groups {
			c.add(translationField, "$%d refers to a group the pattern does not have (it has %d)", n, groups)
			return
		}
		i = j - 1
	}
}
