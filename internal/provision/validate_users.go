package provision

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Limits of calling settings.
const (
	MinUnansweredDelaySeconds = 5
	MaxUnansweredDelaySeconds = 120
)

func (c *checker) users(users []UserSpec) {
	addrs := map[string]int{}
	exts := map[string]int{}
	lines := map[string]int{}
	for i, u := range users {
		p := fmt.Sprintf("users[%d].", i)

		// sipAddress
		switch user, host, ok := strings.Cut(u.SIPAddress, "@"); {
		case u.SIPAddress == "":
			c.add(p+"sipAddress", "must not be empty")
		case !ok || !userPartRe.MatchString(user) || !validDomain(host):
			c.add(p+"sipAddress", "%q is not a valid sip address (expected user@domain)", u.SIPAddress)
		default:
			if c.domainSet != nil && !c.domainSet[host] {
				c.add(p+"sipAddress", "domain %q is not one of the tenant's domains", host)
			}
			if j, dup := addrs[u.SIPAddress]; dup {
				c.add(p+"sipAddress", "duplicate sip address %q (also users[%d])", u.SIPAddress, j)
			} else {
				addrs[u.SIPAddress] = i
			}
		}

		// displayName
		if utf8.RuneCountInString(u.DisplayName) > MaxDisplayNameLen {
			c.add(p+"displayName", "must be at most %d characters", MaxDisplayNameLen)
		}
		if strings.ContainsFunc(u.DisplayName, unicode.IsControl) || !utf8.ValidString(u.DisplayName) {
			c.add(p+"displayName", "must not contain control characters")
		}

		// password
		switch {
		case u.Password == "":
			if c.exists != nil && !c.exists(u.SIPAddress) {
				c.add(p+"password", "required for a new user")
			}
		case utf8.RuneCountInString(u.Password) < MinPasswordLen:
			c.add(p+"password", "must be at least %d characters", MinPasswordLen)
		}

		// extension
		if u.Extension != "" {
			if !extensionRe.MatchString(u.Extension) {
				c.add(p+"extension", "%q is not a valid extension (expected 2 to 10 digits)", u.Extension)
			} else if j, dup := exts[u.Extension]; dup {
				c.dup(i, j, "extension", "duplicate extension %q (also users[%d])", u.Extension)
			} else {
				exts[u.Extension] = i
			}
		}

		// lineUri
		if u.LineURI != "" {
			if msg := checkLineURI(u.LineURI); msg != "" {
				c.add(p+"lineUri", "%s", msg)
			} else {
				key := strings.TrimPrefix(u.LineURI, "tel:")
				if j, dup := lines[key]; dup {
					c.dup(i, j, "lineUri", "duplicate lineUri %q (also users[%d])", u.LineURI)
				} else {
					lines[key] = i
				}
			}
		}
		c.userVoice(p, u)
	}
}

// dup reports a value of users[i] already held by users[j] (j < i): on
// users[i], unless users[i] is stored and users[j] comes from the applied
// document, which is where the admin must look.
func (c *checker) dup(i, j int, field, format, value string) {
	if i >= c.ownUsers && j < c.ownUsers {
		i, j = j, i
	}
	c.add(fmt.Sprintf("users[%d].%s", i, field), format, value, j)
}

// userVoice checks the voice settings of a canonical user.
func (c *checker) userVoice(p string, u UserSpec) {
	switch u.NumberType {
	case "", "DirectRouting", "CallingPlan":
		if u.NumberType != "" && u.LineURI == "" {
			c.add(p+"numberType", "%s needs a lineUri", u.NumberType)
		}
	default:
		c.add(p+"numberType", "%q is not a number type (expected DirectRouting or CallingPlan)", u.NumberType)
	}
	switch u.CallingPlan {
	case "", "Domestic", "DomesticAndInternational", "PayAsYouGo":
	default:
		c.add(p+"callingPlan", "%q is not a calling plan (expected none, Domestic, DomesticAndInternational or PayAsYouGo)", u.CallingPlan)
	}
	c.country(p+"usageLocation", u.UsageLocation)
	if u.VoiceRoutingPolicy != "" {
		c.ref(p+"voiceRoutingPolicy", "voice routing policy", c.policySet, u.VoiceRoutingPolicy)
	}
	if u.DialPlan != "" {
		c.ref(p+"dialPlan", "dial plan", c.dialPlanSet, u.DialPlan)
	}
	if u.EmergencyRoutingPolicy != "" {
		c.ref(p+"emergencyRoutingPolicy", "emergency routing policy", c.emergencySet, u.EmergencyRoutingPolicy)
	}
	if u.CallerIDPolicy != "" {
		c.ref(p+"callerIdPolicy", "caller ID policy", c.callerIDSet, u.CallerIDPolicy)
	}
	if u.Home != HomeOnline {
		if c.edgeSet != nil && !c.edgeSet[u.Home] {
			c.add(p+"home", "%q is neither %q nor an edge of the tenant", u.Home, HomeOnline)
		}
	}
	if u.CallingSettings != nil {
		c.callingSettings(p+"callingSettings.", u, *u.CallingSettings)
	}
}

func (c *checker) callingSettings(p string, u UserSpec, cs pbx.CallingSettings) {
	voicemail := cs.Voicemail.Enabled
	for _, f := range []struct{ field, target string }{
		{"forwarding.immediate", cs.Forwarding.Immediate},
		{"forwarding.busy", cs.Forwarding.Busy},
		{"forwarding.unanswered", cs.Forwarding.Unanswered},
		{"forwarding.unregistered", cs.Forwarding.Unregistered},
	} {
		if f.target == "" {
			continue
		}
		if f.target == ForwardToVoicemail && !voicemail {
			c.add(p+f.field, "forwards to voicemail, but voicemail.enabled is false")
			continue
		}
		c.target(p+f.field, u.SIPAddress, f.target)
	}
	seen := map[string]int{}
	for i, t := range cs.SimultaneousRing {
		f := fmt.Sprintf("%ssimultaneousRing[%d]", p, i)
		if t == ForwardToVoicemail {
			c.add(f, "voicemail cannot ring simultaneously")
			continue
		}
		if j, dup := seen[t]; dup {
			c.add(f, "duplicate target %q (also simultaneousRing[%d])", t, j)
			continue
		}
		seen[t] = i
		c.target(f, u.SIPAddress, t)
	}
	if d := cs.UnansweredDelaySeconds; d < MinUnansweredDelaySeconds || d > MaxUnansweredDelaySeconds {
		c.add(p+"unansweredDelaySeconds", "%d is out of range (%d to %d)", d, MinUnansweredDelaySeconds, MaxUnansweredDelaySeconds)
	}
	if e := cs.Voicemail.NotifyEmail; e != "" {
		local, host, ok := strings.Cut(e, "@")
		if !ok || local == "" || strings.ContainsAny(local, " <>") || !validDomain(strings.ToLower(host)) {
			c.add(p+"voicemail.notifyEmail", "%q is not an email address", e)
		}
	}
}

// target checks a forwarding or simultaneous ring target.
func (c *checker) target(field, self, t string) {
	switch {
	case t == ForwardToVoicemail:
	case strings.HasPrefix(t, "+"):
		if msg := checkE164(t); msg != "" {
			c.add(field, "%s", msg)
		}
	case strings.Contains(t, "@"):
		user, host, _ := strings.Cut(t, "@")
		if !userPartRe.MatchString(user) || !validDomain(host) {
			c.add(field, "%q is not a valid sip address (expected user@domain)", t)
		} else if t == self {
			c.add(field, "a user cannot forward to itself")
		}
	default:
		c.add(field, "%q is not a target (expected voicemail, a sip address or a +E.164 number)", t)
	}
}
