package planner

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Starter file names.
const (
	ServerConfigFile = "switchboard.yaml"
	TenantFile       = "tenant.yaml"
	EdgeExampleFile  = "edge.yaml"
)

// Limits of Options.
const (
	DefaultUsers = 3
	MaxUsers     = 1000
	MaxSites     = 100
)

// Options shape the starter configuration.
type Options struct {
	Domain    string    // the organisation's SIP domain; "example.com" when empty
	Users     int       // placeholder users to write; DefaultUsers when 0
	Sites     int       // sites with an edge node (edge-hybrid); 1 when 0
	Dir       string    // where Write writes the files; nothing is written when empty
	Overwrite bool      // replace files that exist in Dir
	Rand      io.Reader // source of the generated passwords; crypto/rand when nil
}

// File is one starter file.
type File struct {
	Name    string      `json:"name"`           // file name, e.g. "tenant.yaml"
	Path    string      `json:"path,omitempty"` // where it was written, when it was
	Content []byte      `json:"content"`
	Perm    fs.FileMode `json:"-"`
}

// Write produces the starter configuration of rec: the node configuration
// (switchboard.yaml, accepted by "serve --config"), the tenant document
// (tenant.yaml, accepted by "apply"), and for edge-hybrid the edge node's
// configuration (edge.yaml, copied to each site). What the administrator
// must fill in is marked TODO; the SBCs are written disabled until then. When
// opt.Dir is set the files are written there (tenant.yaml, which holds
// passwords, with mode 0600); an existing file is an error unless
// opt.Overwrite, and then nothing is written.
func Write(rec Recommendation, a Answers, opt Options) ([]File, error) {
	s, err := newStarter(rec, a, opt)
	if err != nil {
		return nil, err
	}
	files := []File{
		{Name: ServerConfigFile, Content: []byte(s.serverConfig()), Perm: 0o644},
		{Name: TenantFile, Content: []byte(s.tenant()), Perm: 0o600},
	}
	if s.has(EdgeHybrid) {
		files = append(files, File{Name: EdgeExampleFile, Content: []byte(s.edgeConfig()), Perm: 0o644})
	}
	if opt.Dir == "" {
		return files, nil
	}
	for i := range files {
		files[i].Path = filepath.Join(opt.Dir, files[i].Name)
		if _, err := os.Stat(files[i].Path); err == nil && !opt.Overwrite {
			return nil, fmt.Errorf("%s already exists: nothing written (choose another directory, or overwrite)", files[i].Path)
		}
	}
	if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := os.WriteFile(f.Path, f.Content, f.Perm); err != nil {
			return nil, err
		}
		if err := os.Chmod(f.Path, f.Perm); err != nil { // an overwritten file keeps its mode otherwise
			return nil, err
		}
	}
	return files, nil
}

// starter holds what the templates need.
type starter struct {
	rec        Recommendation
	a          Answers
	domain     string
	tenantName string
	defaulted  bool // the domain is the placeholder
	users      int
	sites      int
	passwords  []string
}

func newStarter(rec Recommendation, a Answers, opt Options) (*starter, error) {
	if !slices.Contains(Topologies(), rec.Best) {
		return nil, errors.New("no recommendation to write a configuration for")
	}
	s := &starter{rec: rec, a: a, users: opt.Users, sites: opt.Sites}
	s.domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(opt.Domain)), ".")
	if s.domain == "" {
		s.domain, s.defaulted = "example.com", true
	}
	if !isDomain(s.domain) {
		return nil, fmt.Errorf("domain: %q is not a domain name (expected e.g. contoso.com)", opt.Domain)
	}
	s.tenantName, _, _ = strings.Cut(s.domain, ".")
	switch {
	case s.users == 0:
		s.users = DefaultUsers
	case s.users < 0 || s.users > MaxUsers:
		return nil, fmt.Errorf("users: %d is not from 1 to %d", s.users, MaxUsers)
	}
	switch {
	case s.sites == 0:
		s.sites = 1
	case s.sites < 0 || s.sites > MaxSites:
		return nil, fmt.Errorf("sites: %d is not from 1 to %d", s.sites, MaxSites)
	}
	r := opt.Rand
	if r == nil {
		r = rand.Reader
	}
	for range s.users {
		p, err := password(r)
		if err != nil {
			return nil, fmt.Errorf("generate passwords: %w", err)
		}
		s.passwords = append(s.passwords, p)
	}
	return s, nil
}

func (s *starter) has(id ID) bool { return slices.Contains(s.rec.Recommended, id) }

// isDomain accepts lowercase DNS names of two labels or more whose last
// label is not numeric, the rule tenant documents follow.
func isDomain(s string) bool {
	labels := strings.Split(s, ".")
	if len(s) > 253 || len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}

// password returns a random password of four groups of four characters
// from an alphabet without look-alikes (about 93 bits).
func password(r io.Reader) (string, error) {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	const limit = 256 - 256%len(alphabet) // rejection sampling keeps it uniform
	var b strings.Builder
	buf := make([]byte, 1)
	for n := 0; n < 16; {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		if int(buf[0]) >= limit {
			continue
		}
		if n > 0 && n%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
		n++
	}
	return b.String(), nil
}

func (s *starter) header(b *strings.Builder, what, check string) {
	fmt.Fprintf(b, "# %s, written by \"switchboard plan\" for %s.\n", what, s.domain)
	fmt.Fprintf(b, "# Recommended: %s (%s)", s.rec.Best.Title(), s.rec.Best)
	for _, id := range s.rec.Recommended[1:] {
		fmt.Fprintf(b, " + %s", id)
	}
	fmt.Fprintf(b, ".\n# Check it: %s\n", check)
}

func (s *starter) serverConfig() string {
	var b strings.Builder
	s.header(&b, "Switchboard node configuration (starter)", "switchboard serve --config "+ServerConfigFile)
	b.WriteString("#\n")
	switch {
	case s.rec.Best == EnterpriseVoice:
		b.WriteString("# A standalone node on your site (topology 4): it has no \"cloud\" section and\n# needs no cloud at all. Your SBC connects it to your carrier.\n")
	case s.has(EdgeHybrid):
		fmt.Fprintf(&b, "# The cloud node. Each of your %d site(s) runs an edge node: see %s.\n", s.sites, EdgeExampleFile)
	default:
		b.WriteString("# The cloud node. If an operator hosts Switchboard for you, this file is theirs:\n# you only need " + TenantFile + ".\n")
	}
	b.WriteString(`# Tenant data (users, numbers, routes) is not configured here but applied through
# the API: see ` + TenantFile + `. The operator token is not written here either: set
# SWITCHBOARD_ADMIN_TOKEN in the node's environment (one is generated when unset).

# SIP over UDP and TCP.
# TODO: TLS on 5061 with a certificate for sip.` + s.domain + ` when TLS listeners land
# (SBCs and edges connect over TLS with mutual authentication).
sip: 0.0.0.0:5060
# Admin API and web console: keep it on loopback, publish it through a TLS reverse proxy.
http: 127.0.0.1:8080
data: ./switchboard-data
# RTP relay: 4 ports (RTP and RTCP, both legs) per relayed call; 10000 ports ≈ 2500 calls.
rtpPorts: 20000-29999
# TODO: the public IP address phones` + s.mediaPeers() + ` send media to (unset: detected).
# mediaIp: 203.0.113.10
logLevel: info
`)
	if s.has(CallingPlan) {
		fmt.Fprintf(&b, `
# TODO Calling Plan (operator configuration, docs/calling-plan.md and
# examples/operator.yaml): your upstream carriers, plans and number inventory.
# Uncomment and fill in when this node is the operator's.
# callingPlan:
#   countries: [%[1]s]
#   carriers:
#     - {name: carrier1, address: "sip.carrier.example:5061", transport: tls, countries: [%[1]s], priority: 1}   # TODO: your upstream carrier's trunk
#   plans:
#     %[1]s: {Domestic: {domesticMinutes: 3000}, PayAsYouGo: {}}
#   numberInventory:
#     - {country: %[1]s, range: "TODO", type: user}   # the E.164 range you hold, e.g. +14255550100-+14255550199
`, s.country())
	}
	return b.String()
}

func (s *starter) mediaPeers() string {
	switch {
	case s.has(DirectRouting) || s.has(EdgeHybrid) || s.has(EnterpriseVoice):
		return " and the SBC"
	case s.has(CallingPlan):
		return " and carriers"
	}
	return ""
}

func (s *starter) country() string {
	if c := s.a.CountryCode(); c != "" {
		return c
	}
	return "US"
}

// home returns the home of placeholder user i in an edge-hybrid tenant:
// the users are spread over the sites' edges, and when cloud users keep
// the Calling Plan every other user stays in the cloud.
func (s *starter) home(i int) string {
	if s.has(CallingPlan) {
		if i%2 == 1 {
			return "online"
		}
		i /= 2
	}
	return fmt.Sprintf("site%d", i%s.sites+1)
}

func (s *starter) tenant() string {
	var b strings.Builder
	s.header(&b, "Tenant document (starter)", "switchboard apply -f "+TenantFile+" --dry-run")
	b.WriteString(`# Apply it: switchboard apply -f ` + TenantFile + ` --server http://127.0.0.1:8080 --token "$SWITCHBOARD_TOKEN"
#
# The passwords below were generated at random for this file: keep it secret, or
# change them (the server stores only their HA1 hashes).
# TODO: replace the placeholder users with your users (name, address, extension, number).
`)
	fmt.Fprintf(&b, "tenant: %s\n", s.tenantName)
	b.WriteString("domains:\n")
	if s.defaulted {
		fmt.Fprintf(&b, "  - %s   # TODO: your SIP domain (switchboard plan --domain)\n", s.domain)
	} else {
		fmt.Fprintf(&b, "  - %s\n", s.domain)
	}
	fmt.Fprintf(&b, "settings:\n  defaultUsageLocation: %s\n", s.country())
	if s.has(CallingPlan) {
		s.callingPlanSection(&b)
	}
	if s.sbc() {
		s.gatewaySection(&b)
		s.dialPlanSection(&b)
	}
	b.WriteString("users:\n")
	for i := range s.users {
		fmt.Fprintf(&b, "  - sipAddress: user%d@%s\n", i+1, s.domain)
		fmt.Fprintf(&b, "    displayName: User %d\n", i+1)
		fmt.Fprintf(&b, "    password: %q\n", s.passwords[i])
		fmt.Fprintf(&b, "    extension: \"%d\"\n", 1001+i)
		s.userFields(&b, i)
	}
	b.WriteString(`
# TODO emergency calls: an emergencyRoutingPolicy named Global with your country's
# emergency numbers, and emergency locations for your sites.
`)
	return b.String()
}

// sbc says whether the tenant reaches the PSTN through its own SBC.
func (s *starter) sbc() bool {
	return s.has(DirectRouting) || s.has(EdgeHybrid) || s.has(EnterpriseVoice)
}

// callingCode returns the country calling code of the users' country
// ("1" for US), or "" when the planner does not know it.
func (s *starter) callingCode() string { return dialing[s.country()].code }

// placeholderNumber returns the placeholder number of user i: a number of
// the users' country in the range reserved for fiction where there is one.
func (s *starter) placeholderNumber(i int) string {
	cc := s.callingCode()
	if cc == "" {
		cc = "1"
	}
	if cc == "1" {
		return fmt.Sprintf("+1425555%04d", 101+i)
	}
	return fmt.Sprintf("+%s5550%04d", cc, 101+i)
}

func (s *starter) userFields(b *strings.Builder, i int) {
	cp := s.has(CallingPlan) && (!s.has(EdgeHybrid) || s.home(i) == "online")
	if cp {
		fmt.Fprintf(b, "    lineUri: \"%s\"   # TODO: a number from the operator's inventory (switchboard numbers)\n", s.placeholderNumber(i))
		b.WriteString("    numberType: CallingPlan\n")
		b.WriteString("    callingPlan: Domestic   # or DomesticAndInternational, PayAsYouGo\n")
	} else {
		b.WriteString("    # lineUri: TODO      # a number your carrier routes to your SBC, e.g. \"" + s.placeholderNumber(i) + "\"\n")
		b.WriteString("    # numberType: DirectRouting   # with the lineUri\n")
	}
	fmt.Fprintf(b, "    usageLocation: %s\n", s.country())
	if s.sbc() {
		b.WriteString("    enterpriseVoiceEnabled: true\n")
		b.WriteString("    voiceRoutingPolicy: Global\n")
		if s.callingCode() != "" {
			b.WriteString("    dialPlan: " + s.country() + "\n")
		}
	}
	if s.has(EdgeHybrid) {
		fmt.Fprintf(b, "    home: %s\n", s.home(i))
	}
}

func (s *starter) callingPlanSection(b *strings.Builder) {
	b.WriteString(`
# --- Calling Plan --------------------------------------------------------------
# The operator is the carrier: numbers come from its inventory (switchboard numbers),
# and each Calling Plan user needs a licence (callingPlan) and a usageLocation.
# International and premium-rate destinations stay blocked until allowed per
# country under settings (docs/calling-plan.md, "Allowed destinations"), e.g.
#   callingPlan: {internationalCountries: [GB], premiumRateCountries: []}
`)
	if s.a.MixCarrierAndCallingPlan {
		b.WriteString("# Mixed routing: calls that match a voice route below take your carrier; all\n# others take the Calling Plan.\n")
	}
}

func (s *starter) gatewaySection(b *strings.Builder) {
	title := "Direct Routing: your SBC and carrier"
	switch {
	case s.rec.Best == EnterpriseVoice:
		title = "Your SBC and carrier (standalone node)"
	case s.has(EdgeHybrid):
		title = "Edges and the SBC at each site"
	}
	fmt.Fprintf(b, "\n# --- %s %s\n", title, strings.Repeat("-", max(3, 76-len(title))))
	b.WriteString(`# TODO SBC: its FQDN must be in one of the tenant's domains and match the SBC's TLS
# certificate (issued by a public CA); the SBC must trust this node's certificate.
# The gateways are disabled (enabled: false) until you fill them in: calls to
# them fail over or are refused, and no OPTIONS are sent.
# TODO carrier: the carrier's SIP trunk terminates on the SBC; get the trunk's
# channel count and number ranges from your carrier contract.
`)
	if s.has(EdgeHybrid) {
		b.WriteString("edges:\n")
		for i := 1; i <= s.sites; i++ {
			fmt.Fprintf(b, "  - name: site%d\n    sipAddress: edge-site%d.%s:5060   # TODO: where the cloud reaches this edge\n", i, i, s.domain)
		}
	}
	b.WriteString("pstnUsages: [carrier]\npstnGateways:\n")
	n := 1
	if s.has(EdgeHybrid) {
		n = s.sites
	}
	var gateways []string
	for i := 1; i <= n; i++ {
		fqdn := fmt.Sprintf("sbc%d.%s", i, s.domain)
		gateways = append(gateways, fqdn)
		fmt.Fprintf(b, "  - fqdn: %s   # TODO: your SBC's FQDN\n", fqdn)
		b.WriteString("    sipSignalingPort: 5061\n    transport: tls\n")
		if s.has(EdgeHybrid) {
			fmt.Fprintf(b, "    edge: site%d   # reached through the edge node at site%d\n", i, i)
		}
		b.WriteString("    enabled: false              # TODO: true once the SBC is configured and answers OPTIONS\n")
		b.WriteString("    sendSipOptions: true\n")
		b.WriteString("    maxConcurrentSessions: 30   # TODO: the trunk's channel count\n")
	}
	pattern := `'^\+'                 # every number`
	if s.a.MixCarrierAndCallingPlan && s.has(CallingPlan) {
		pattern = `'^\+` + s.callingCode() + `'   # TODO: only the numbers your carrier takes`
	}
	fmt.Fprintf(b, `voiceRoutes:
  - name: carrier
    numberPattern: %s
    priority: 1
    onlinePstnGatewayList: [%s]
    onlinePstnUsages: [carrier]
voiceRoutingPolicies:
  - name: Global
    onlinePstnUsages: [carrier]
`, pattern, strings.Join(gateways, ", "))
}

// dialPlanSection writes a dial plan named after the country: extensions,
// national numbers (with the country's trunk prefix) and international
// numbers (with its international prefix) become E.164.
func (s *starter) dialPlanSection(b *strings.Builder) {
	cc := s.callingCode()
	if cc == "" {
		return
	}
	fmt.Fprintf(b, "dialPlans:\n  - name: %s\n    description: TODO check the rules against how your users dial\n    normalizationRules:\n", s.country())
	b.WriteString("      - {name: extension, pattern: '^(\\d{4})$', translation: '$1', isInternalExtension: true}\n")
	if cc == "1" {
		b.WriteString("      - {name: national, pattern: '^1?([2-9]\\d{9})$', translation: '+1$1'}\n")
		b.WriteString("      - {name: international, pattern: '^011(\\d{7,15})$', translation: '+$1'}\n")
		return
	}
	d := dialing[s.country()]
	if d.national != "" {
		fmt.Fprintf(b, "      - {name: national, pattern: '^%s([1-9]\\d{5,13})$', translation: '+%s$1'}\n", d.national, cc)
	}
	if d.international != "" {
		fmt.Fprintf(b, "      - {name: international, pattern: '^%s(\\d{7,15})$', translation: '+$1'}\n", d.international)
	}
}

// dialing is how people dial in a country: its calling code, the trunk
// prefix of national numbers ("": none to strip, no rule written) and
// the international prefix ("": several, no rule written). NANP
// countries (code 1) have rules of their own.
var dialing = map[string]struct{ code, national, international string }{
	"AR": {"54", "0", "00"}, "AT": {"43", "0", "00"}, "AU": {"61", "0", "0011"}, "BE": {"32", "0", "00"},
	"BR": {"55", "0", ""}, "CA": {"1", "", ""}, "CH": {"41", "0", "00"}, "CN": {"86", "0", "00"},
	"CZ": {"420", "", "00"}, "DE": {"49", "0", "00"}, "DK": {"45", "", "00"}, "EE": {"372", "", "00"},
	"ES": {"34", "", "00"}, "FI": {"358", "0", "00"}, "FR": {"33", "0", "00"}, "GB": {"44", "0", "00"},
	"HR": {"385", "0", "00"}, "HU": {"36", "06", "00"}, "IE": {"353", "0", "00"}, "IN": {"91", "0", "00"},
	"IT": {"39", "", "00"}, "JP": {"81", "0", "010"}, "LT": {"370", "8", "00"}, "LU": {"352", "", "00"},
	"LV": {"371", "", "00"}, "MX": {"52", "", "00"}, "NL": {"31", "0", "00"}, "NO": {"47", "", "00"},
	"NZ": {"64", "0", "00"}, "PL": {"48", "", "00"}, "PR": {"1", "", ""}, "PT": {"351", "", "00"},
	"RO": {"40", "0", "00"}, "SE": {"46", "0", "00"}, "SG": {"65", "", ""}, "SI": {"386", "0", "00"},
	"SK": {"421", "0", "00"}, "US": {"1", "", ""}, "ZA": {"27", "0", "00"},
}

func (s *starter) edgeConfig() string {
	var b strings.Builder
	s.header(&b, "Edge node configuration (starter)", "switchboard serve --config edge.yaml")
	fmt.Fprintf(&b, `#
# Copy this file to the server at each site (site1 to site%d), changing
# cloud.edge. The "cloud" section makes the node an edge of your
# cloud node (docs/topologies/hybrid-edge.md); the token of each edge comes
# from: switchboard tokens create --tenant %[3]s --edge site1

sip: 0.0.0.0:5060
http: 127.0.0.1:8080
data: ./switchboard-data
rtpPorts: 20000-29999
# TODO: the address this site's phones and SBC send media to.
# mediaIp: 192.0.2.10
logLevel: info
cloud:
  api: https://pbx.%[2]s:8443  # TODO: the cloud node's API
  sip: sip.%[2]s:5060  # TODO: the cloud node's SIP address for the trunk
  tenant: %[3]s
  edge: site1  # this edge's name in the tenant document
  token: TODO  # TODO: the edge's token, issued by the cloud (see above)
`, s.sites, s.domain, s.tenantName)
	return b.String()
}
