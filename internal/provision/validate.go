package provision

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Limits enforced by Validate.
const (
	MinPasswordLen    = 8
	MaxDisplayNameLen = 100 // characters (runes), not bytes
)

var (
	tenantRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	labelRe     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	digitsRe    = regexp.MustCompile(`^[0-9]+$`)
	userPartRe  = regexp.MustCompile(`^[a-z0-9._~!$&'*+=-]{1,64}$`)
	extensionRe = regexp.MustCompile(`^[0-9]{2,10}$`)
	e164Re      = regexp.MustCompile(`^\+[0-9]{8,15}$`)
	lineExtRe   = regexp.MustCompile(`^ext=[0-9]{1,10}$`)
)

// Canonical returns d in canonical form: every string trimmed, domains and
// sip addresses lowercased (a leading "sip:" on an address is dropped), lineUri
// lowercased ("TEL:" → "tel:"). Passwords are left exactly as written.
// The input is not modified.
func Canonical(d Document) Document {
	out := Document{Tenant: strings.TrimSpace(d.Tenant)}
	if d.Domains != nil {
		out.Domains = make([]string, len(d.Domains))
		for i, dom := range d.Domains {
			out.Domains[i] = strings.ToLower(strings.TrimSpace(dom))
		}
	}
	if d.Users != nil {
		out.Users = make([]UserSpec, len(d.Users))
		for i, u := range d.Users {
			addr := strings.ToLower(strings.TrimSpace(u.SIPAddress))
			if rest, ok := strings.CutPrefix(addr, "sip:"); ok && !strings.Contains(rest, ":") {
				addr = strings.TrimSpace(rest)
			}
			out.Users[i] = UserSpec{
				SIPAddress:  addr,
				DisplayName: strings.TrimSpace(u.DisplayName),
				Password:    u.Password,
				Extension:   strings.TrimSpace(u.Extension),
				LineURI:     strings.ToLower(strings.TrimSpace(u.LineURI)),
			}
		}
	}
	return out
}

// Validate returns every problem in d, in document order, or nil when d is
// valid. It validates the canonical form of d (see Canonical), so callers may
// pass a document exactly as written. An empty password is accepted here:
// whether it may be omitted depends on whether the user already exists, which
// Service.Apply decides.
func Validate(d Document) ValidationErrors {
	return validate(Canonical(d), nil)
}

// validate checks a canonical document. exists, when not nil, reports whether
// a sip address is an existing user of the tenant; a new user without a
// password is then an error.
func validate(d Document, exists func(sipAddress string) bool) ValidationErrors {
	var errs ValidationErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}

	switch {
	case d.Tenant == "":
		add("tenant", "must not be empty")
	case !tenantRe.MatchString(d.Tenant):
		add("tenant", "%q is not a valid tenant name (expected 1 to 63 lowercase letters, digits or '-', starting with a letter or digit)", d.Tenant)
	}

	if len(d.Domains) == 0 {
		add("domains", "at least one domain is required")
	}
	domains := make(map[string]int, len(d.Domains))
	for i, dom := range d.Domains {
		field := fmt.Sprintf("domains[%d]", i)
		switch {
		case dom == "":
			add(field, "must not be empty")
		case !validDomain(dom):
			add(field, "%q is not a valid domain name", dom)
		default:
			if j, dup := domains[dom]; dup {
				add(field, "duplicate domain %q (also domains[%d])", dom, j)
			} else {
				domains[dom] = i
			}
		}
	}

	addrs := map[string]int{}
	exts := map[string]int{}
	lines := map[string]int{}
	for i, u := range d.Users {
		p := fmt.Sprintf("users[%d].", i)

		// sipAddress
		switch user, host, ok := strings.Cut(u.SIPAddress, "@"); {
		case u.SIPAddress == "":
			add(p+"sipAddress", "must not be empty")
		case !ok || !userPartRe.MatchString(user) || !validDomain(host):
			add(p+"sipAddress", "%q is not a valid sip address (expected user@domain)", u.SIPAddress)
		default:
			if _, own := domains[host]; !own {
				add(p+"sipAddress", "domain %q is not one of the tenant's domains", host)
			}
			if j, dup := addrs[u.SIPAddress]; dup {
				add(p+"sipAddress", "duplicate sip address %q (also users[%d])", u.SIPAddress, j)
			} else {
				addrs[u.SIPAddress] = i
			}
		}

		// displayName
		if utf8.RuneCountInString(u.DisplayName) > MaxDisplayNameLen {
			add(p+"displayName", "must be at most %d characters", MaxDisplayNameLen)
		}
		if strings.ContainsFunc(u.DisplayName, unicode.IsControl) || !utf8.ValidString(u.DisplayName) {
			add(p+"displayName", "must not contain control characters")
		}

		// password
		switch {
		case u.Password == "":
			if exists != nil && !exists(u.SIPAddress) {
				add(p+"password", "required for a new user")
			}
		case utf8.RuneCountInString(u.Password) < MinPasswordLen:
			add(p+"password", "must be at least %d characters", MinPasswordLen)
		}

		// extension
		if u.Extension != "" {
			if !extensionRe.MatchString(u.Extension) {
				add(p+"extension", "%q is not a valid extension (expected 2 to 10 digits)", u.Extension)
			} else if j, dup := exts[u.Extension]; dup {
				add(p+"extension", "duplicate extension %q (also users[%d])", u.Extension, j)
			} else {
				exts[u.Extension] = i
			}
		}

		// lineUri
		if u.LineURI != "" {
			if msg := checkLineURI(u.LineURI); msg != "" {
				add(p+"lineUri", "%s", msg)
			} else {
				key := strings.TrimPrefix(u.LineURI, "tel:")
				if j, dup := lines[key]; dup {
					add(p+"lineUri", "duplicate lineUri %q (also users[%d])", u.LineURI, j)
				} else {
					lines[key] = i
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validDomain reports whether s is a DNS name of at least two labels whose
// top-level label is not numeric (so IP addresses are not domains).
func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelRe.MatchString(l) {
			return false
		}
	}
	return !digitsRe.MatchString(labels[len(labels)-1])
}

// checkLineURI returns what is wrong with a canonical lineUri, or "".
// Accepted: +E164 or tel:+E164, optionally followed by ;ext=DIGITS.
func checkLineURI(s string) string {
	num, params, hasParams := strings.Cut(strings.TrimPrefix(s, "tel:"), ";")
	if !e164Re.MatchString(num) {
		return fmt.Sprintf("%q is not an E.164 number (expected + and 8 to 15 digits)", num)
	}
	// Only a parse failure (an unknown country code) is rejected: numbers
	// libphonenumber considers unassigned are fine for a PBX.
	if _, err := phonenumbers.Parse(num, ""); err != nil {
		return fmt.Sprintf("%q is not an E.164 number (unknown country code)", num)
	}
	if hasParams && !lineExtRe.MatchString(params) {
		return fmt.Sprintf("%q has an invalid extension (expected ;ext= and 1 to 10 digits)", s)
	}
	return ""
}
