package planner

import (
	"fmt"
	"slices"
	"strings"
)

// ID names one of the four deployment topologies of PRODUCT.md §1.
type ID string

// The topologies, in the order of PRODUCT.md §1.
const (
	CallingPlan     ID = "calling-plan"
	DirectRouting   ID = "direct-routing"
	EdgeHybrid      ID = "edge-hybrid"
	EnterpriseVoice ID = "enterprise-voice"
)

// Topologies returns the four topology ids in the order of PRODUCT.md §1.
func Topologies() []ID { return []ID{CallingPlan, DirectRouting, EdgeHybrid, EnterpriseVoice} }

// Title is the topology's name as PRODUCT.md §1 writes it.
func (id ID) Title() string {
	switch id {
	case CallingPlan:
		return "Phone System + Calling Plan"
	case DirectRouting:
		return "Phone System + Direct Routing"
	case EdgeHybrid:
		return "Phone System + on-prem edge (hybrid voice)"
	case EnterpriseVoice:
		return "Enterprise Voice on-prem"
	}
	return string(id)
}

// Availability values of Requirements.AvailableWorldwide.
const (
	Worldwide        = "yes"
	LimitedCountries = "limited countries"
)

// Requirements is one row of the requirements table of PRODUCT.md §1.
type Requirements struct {
	NeedsCloudConnection bool   `json:"needsCloudConnection"` // an uninterrupted connection to the cloud
	AvailableWorldwide   string `json:"availableWorldwide"`   // Worldwide or LimitedCountries
	NeedsSbc             bool   `json:"needsSbc"`             // a Session Border Controller
	NeedsCarrierContract bool   `json:"needsCarrierContract"` // a third-party carrier contract
	NeedsOnPremServer    bool   `json:"needsOnPremServer"`    // an on-prem Switchboard server or edge
}

// RequirementsOf returns the requirements of topology id (the zero value
// for an unknown id).
func RequirementsOf(id ID) Requirements {
	switch id {
	case CallingPlan:
		return Requirements{NeedsCloudConnection: true, AvailableWorldwide: LimitedCountries}
	case DirectRouting:
		return Requirements{NeedsCloudConnection: true, AvailableWorldwide: Worldwide, NeedsSbc: true, NeedsCarrierContract: true}
	case EdgeHybrid:
		return Requirements{NeedsCloudConnection: true, AvailableWorldwide: Worldwide, NeedsSbc: true, NeedsCarrierContract: true, NeedsOnPremServer: true}
	case EnterpriseVoice:
		return Requirements{AvailableWorldwide: Worldwide, NeedsSbc: true, NeedsCarrierContract: true, NeedsOnPremServer: true}
	}
	return Requirements{}
}

// Reason says what one answer did to the recommendation.
type Reason struct {
	Question string `json:"question"` // the answer's key, e.g. "keepCarrier"
	Answer   string `json:"answer"`   // the answer as text: "true", "cloud", "US"
	Effect   string `json:"effect"`
}

// Advice is a change of topology to plan for when a condition that forced
// the recommendation goes away.
type Advice struct {
	Question string `json:"question,omitempty"` // the answer whose change leads there
	Topology ID     `json:"topology,omitempty"` // the topology the guide would then recommend
	Text     string `json:"text"`
}

// Recommendation is the guide's answer. It is a stable JSON contract.
type Recommendation struct {
	Best         ID                  `json:"best"`
	Recommended  []ID                `json:"recommended"` // best first
	Summary      string              `json:"summary"`     // why Best, in one sentence
	Reasons      []Reason            `json:"reasons"`     // one per question, in question order
	Requirements map[ID]Requirements `json:"requirements"`
	Advice       []Advice            `json:"advice"`
}

// Plan resolves the answers against the operator, validates them and
// recommends: what an API handler or a command needs in one call.
func Plan(a Answers, op Operator) (Recommendation, error) {
	a = op.Resolve(a)
	if err := Validate(a); err != nil {
		return Recommendation{}, err
	}
	return Recommend(a, op), nil
}

// Recommend recommends topologies for a. Answers should be valid (see
// Validate); for invalid ones the result is unspecified but well formed.
// A nil CallingPlanAvailable is decided by op's Calling Plan countries.
func Recommend(a Answers, op Operator) Recommendation {
	a = op.Resolve(a)
	f := factsOf(a)
	rec, summary := decide(f)
	r := Recommendation{
		Best:         rec[0],
		Recommended:  rec,
		Summary:      summary,
		Reasons:      reasons(f, rec),
		Requirements: map[ID]Requirements{},
		Advice:       append([]Advice{}, advise(a, rec)...), // [] rather than null in JSON
	}
	for _, id := range rec {
		r.Requirements[id] = RequirementsOf(id)
	}
	return r
}

// facts are what the rules look at, derived once from resolved answers.
type facts struct {
	a          Answers
	cp         bool // the Calling Plan is available
	cloudUsers bool // some users are, or will be, homed in the cloud
	onPremStay bool // some users stay homed on-prem
	migrating  bool // on-prem users move to the cloud
	keepPbx    bool // a PBX stays for features the business depends on
}

func factsOf(a Answers) facts {
	homed := a.Homed()
	return facts{
		a:          a,
		cp:         a.CallingPlanAvailable != nil && *a.CallingPlanAvailable,
		cloudUsers: homed != HomedOnPrem || a.MoveUsersToCloud,
		onPremStay: homed != HomedCloud && !a.MoveUsersToCloud,
		migrating:  homed != HomedCloud && a.MoveUsersToCloud,
		keepPbx:    a.ExistingPbx && a.PbxUniqueFeatures,
	}
}

// needsSite reports whether a Switchboard server must run on site next to
// the cloud: calls must survive a cloud outage, some users need features
// only an on-prem home gives, or on-prem users stay (a split domain).
func (f facts) needsSite() bool {
	return f.a.NeedLocalSurvivability || f.a.NeedFeaturesCloudLacks || f.onPremStay
}

// decide is the rule set. The first rule that applies chooses; the result
// lists the topologies to deploy, best first, and says why.
func decide(f facts) ([]ID, string) {
	a := f.a
	// Rule 1: nobody is, or will be, homed in the cloud. Everything stays on
	// a standalone node the organisation runs, which needs no cloud at all.
	if !f.cloudUsers {
		return []ID{EnterpriseVoice}, "every user stays homed on-prem and nothing moves to the cloud: a standalone Switchboard node with your SBC and carrier needs no cloud at all"
	}
	// Rule 2: a Switchboard edge must run on site next to the cloud. Cloud
	// users of the same domain can still use the Calling Plan when no
	// carrier is kept and calls need not survive a cloud outage, and always
	// for mixed routing (calls routed to the site's SBC survive; the others
	// take the Calling Plan while the cloud is reachable).
	if f.needsSite() {
		rec := []ID{EdgeHybrid}
		if f.cp && (a.MixCarrierAndCallingPlan || !a.KeepCarrier && !a.NeedLocalSurvivability) {
			rec = append(rec, CallingPlan)
		}
		var why []string
		if a.NeedLocalSurvivability {
			why = append(why, "calls must keep working when the cloud is unreachable")
		}
		if a.NeedFeaturesCloudLacks {
			why = append(why, "some users need features only an on-prem home gives")
		}
		if f.onPremStay {
			why = append(why, "on-prem users stay while others are in the cloud (a split domain)")
		}
		return rec, strings.Join(why, "; ") + ": an edge node on site homes those users and reaches your SBC, and the cloud serves everyone else"
	}
	// Rule 3: everyone ends up in the cloud; what is left is how calls
	// reach the PSTN. While on-prem users move, the edge carries the split
	// domain.
	rec, why := cloudPSTN(f)
	if f.migrating {
		rec = append(rec, EdgeHybrid)
		why += "; until the last on-prem user has moved, an edge carries the split domain"
	}
	return rec, why
}

// cloudPSTN chooses the PSTN connection of cloud users: the Calling Plan
// when it is available and no carrier or PBX must be kept; Direct Routing
// when a carrier or a PBX must be kept or the Calling Plan is not
// available; both for mixed routing.
func cloudPSTN(f facts) ([]ID, string) {
	a := f.a
	switch {
	case !f.cp:
		return []ID{DirectRouting}, "the Calling Plan is not available" + in(a.Country) + ": your carrier connects through your SBC paired with the cloud"
	case a.MixCarrierAndCallingPlan && a.KeepCarrier:
		return []ID{DirectRouting, CallingPlan}, "your carrier stays for the calls your voice routes send to it (Direct Routing first); the Calling Plan carries all other calls"
	case a.MixCarrierAndCallingPlan:
		return []ID{CallingPlan, DirectRouting}, "the Calling Plan carries most calls; voice routes send the others through your carrier's SBC (mixed routing)"
	case a.KeepCarrier:
		return []ID{DirectRouting}, "you keep your carrier: it connects through your SBC paired with the cloud"
	case f.keepPbx:
		return []ID{DirectRouting, CallingPlan}, "the PBX you keep connects through an SBC paired with the cloud; the Calling Plan can carry PSTN calls"
	case a.ExistingPbx:
		return []ID{CallingPlan, DirectRouting}, "the Calling Plan is the simplest: the operator is your carrier; an SBC paired with the cloud connects the PBX equipment you keep"
	}
	return []ID{CallingPlan}, "the Calling Plan is available" + in(a.Country) + " and there is no carrier or PBX to keep: the operator is your carrier and nothing runs on site"
}

func in(country string) string {
	if country == "" {
		return ""
	}
	return " in " + country
}

// reasons explains, question by question, what each answer did.
func reasons(f facts, rec []ID) []Reason {
	a := f.a
	has := func(id ID) bool { return slices.Contains(rec, id) }
	tf := func(b bool) string { return fmt.Sprint(b) }
	var r []Reason
	add := func(q, answer, effect string) { r = append(r, Reason{Question: q, Answer: answer, Effect: effect}) }

	switch {
	case !a.ExistingOnPremServer && has(EdgeHybrid):
		add("existingOnPremServer", "false", "nothing runs on site today: edge-hybrid needs a Switchboard edge node installed there")
	case !a.ExistingOnPremServer:
		add("existingOnPremServer", "false", "nothing on site to integrate with")
	case !f.cloudUsers:
		add("existingOnPremServer", "true", "your users stay on-prem: a standalone Switchboard node takes the server's place")
	case has(EdgeHybrid):
		add("existingOnPremServer", "true", "the on-prem side becomes a Switchboard edge node that shares the SIP domain with the cloud")
	default:
		add("existingOnPremServer", "true", "not needed for voice once every user is in the cloud: it can be retired")
	}

	switch a.Homed() {
	case HomedOnPrem:
		add("usersHomed", string(HomedOnPrem), "users are homed on-prem today")
	case HomedBoth:
		add("usersHomed", string(HomedBoth), "a split domain today: users in the cloud and on-prem share one SIP domain")
	default:
		add("usersHomed", string(HomedCloud), "users are homed in the cloud: the cloud topologies apply")
	}

	switch {
	case a.Homed() == HomedCloud:
		add("moveUsersToCloud", tf(a.MoveUsersToCloud), "no effect: users are already in the cloud")
	case a.MoveUsersToCloud:
		add("moveUsersToCloud", "true", "on-prem users move to the cloud one at a time, keeping number, settings and voicemail; an edge carries the split domain meanwhile")
	case a.Homed() == HomedOnPrem:
		add("moveUsersToCloud", "false", "users stay on-prem: nothing needs the cloud (enterprise-voice)")
	default:
		add("moveUsersToCloud", "false", "on-prem users stay: the domain stays split between the cloud and an edge (edge-hybrid)")
	}

	sells := "the operator sells the Calling Plan" + in(a.Country)
	if !f.cp {
		sells = "the operator does not sell the Calling Plan" + in(a.Country)
	}
	add("country", a.Country, sells)

	switch {
	case f.cp && has(CallingPlan):
		add("callingPlanAvailable", "true", "the operator can be your carrier (calling-plan)")
	case f.cp:
		add("callingPlanAvailable", "true", "available, but not chosen: "+notCallingPlan(f))
	default:
		add("callingPlanAvailable", "false", "calls go through your own carrier and an SBC")
	}

	switch {
	case a.KeepCarrier:
		add("keepCarrier", "true", "your carrier stays: an SBC and a carrier contract are needed")
	case !f.cp:
		add("keepCarrier", "false", "a carrier contract is needed anyway: the Calling Plan is not available")
	case has(CallingPlan):
		add("keepCarrier", "false", "no carrier to keep: the Calling Plan can replace it")
	default:
		add("keepCarrier", "false", "no carrier to keep, but the on-site SBC needs a carrier contract")
	}

	switch {
	case a.MixCarrierAndCallingPlan && has(CallingPlan) && has(DirectRouting):
		add("mixCarrierAndCallingPlan", "true", "mixed routing: calls that match a voice route go through your carrier's SBC, all others through the Calling Plan")
	case a.MixCarrierAndCallingPlan && has(CallingPlan):
		add("mixCarrierAndCallingPlan", "true", "cloud users get the Calling Plan; voice routes send chosen calls through the SBC on site")
	case a.MixCarrierAndCallingPlan:
		add("mixCarrierAndCallingPlan", "true", "not possible here: "+notCallingPlan(f))
	default:
		add("mixCarrierAndCallingPlan", "false", "one way to the PSTN for every call")
	}

	switch {
	case !a.ExistingPbx:
		add("existingPbx", "false", "no PBX to connect")
	case has(DirectRouting):
		add("existingPbx", "true", "an SBC paired with the cloud connects the PBX and its equipment (direct-routing)")
	default:
		add("existingPbx", "true", "the PBX and its equipment connect through the SBC on site")
	}

	switch {
	case !a.ExistingPbx:
		add("pbxUniqueFeatures", tf(a.PbxUniqueFeatures), "no effect: no PBX")
	case a.PbxUniqueFeatures:
		add("pbxUniqueFeatures", "true", "the PBX is kept for them, with an SBC in front of it")
	default:
		add("pbxUniqueFeatures", "false", "the PBX can be retired once its users have moved; only its equipment needs the SBC")
	}

	if a.NeedFeaturesCloudLacks {
		add("needFeaturesCloudLacks", "true", "the users who need them stay homed on a Switchboard server on site")
	} else {
		add("needFeaturesCloudLacks", "false", "no effect: the cloud has what users need")
	}

	if a.NeedLocalSurvivability {
		add("needLocalSurvivability", "true", "only an edge or a standalone node keeps calls working when the cloud is unreachable")
	} else {
		add("needLocalSurvivability", "false", "no effect: calls may depend on the cloud connection")
	}
	return r
}

// notCallingPlan says why the Calling Plan is not part of a recommendation
// although it is available.
func notCallingPlan(f facts) string {
	a := f.a
	switch {
	case !f.cp:
		return "the Calling Plan is not available" + in(a.Country)
	case !f.cloudUsers:
		return "no user is in the cloud"
	case a.NeedLocalSurvivability:
		return "calls must survive a cloud outage, so they go through the SBC on site"
	case a.KeepCarrier:
		return "you keep your carrier"
	}
	return "the on-site SBC carries the calls"
}

// change is a condition that can go away, and the answers once it has.
type change struct {
	question string
	when     string
	applies  func(Answers) bool
	apply    func(*Answers)
}

func changes(a Answers) []change {
	return []change{
		{"keepCarrier", "When you are no longer bound to your carrier (e.g. the contract ends)",
			func(a Answers) bool { return a.KeepCarrier }, func(a *Answers) { a.KeepCarrier = false }},
		{"needLocalSurvivability", "When calls no longer need to keep working without the cloud",
			func(a Answers) bool { return a.NeedLocalSurvivability }, func(a *Answers) { a.NeedLocalSurvivability = false }},
		{"needFeaturesCloudLacks", "When the cloud offers the features your users need",
			func(a Answers) bool { return a.NeedFeaturesCloudLacks }, func(a *Answers) { a.NeedFeaturesCloudLacks = false }},
		{"pbxUniqueFeatures", "When the PBX's unique features are no longer needed",
			func(a Answers) bool { return a.PbxUniqueFeatures }, func(a *Answers) { a.PbxUniqueFeatures = false }},
		{"existingPbx", "When the PBX and its equipment are retired",
			func(a Answers) bool { return a.ExistingPbx }, func(a *Answers) { a.ExistingPbx, a.PbxUniqueFeatures = false, false }},
		{"moveUsersToCloud", "If you decide to move your on-prem users to the cloud",
			func(a Answers) bool { return a.Homed() != HomedCloud && !a.MoveUsersToCloud },
			func(a *Answers) { a.MoveUsersToCloud = true }},
		{"callingPlanAvailable", "If the operator starts selling the Calling Plan" + in(a.Country),
			func(a Answers) bool { return !*a.CallingPlanAvailable }, func(a *Answers) { t := true; a.CallingPlanAvailable = &t }},
	}
}

// advise looks at every condition that can go away and says where the
// guide would then lead, when that differs from today's best; then where
// it leads once all of them are gone.
func advise(a Answers, rec []ID) []Advice {
	var out []Advice
	all := a
	var changed []string
	for _, c := range changes(a) {
		if !c.applies(a) {
			continue
		}
		b := a
		c.apply(&b)
		c.apply(&all)
		changed = append(changed, c.question)
		if next, why := decide(factsOf(b)); next[0] != rec[0] {
			out = append(out, Advice{Question: c.question, Topology: next[0],
				Text: fmt.Sprintf("%s, move to %s (%s): %s.", c.when, next[0].Title(), next[0], why)})
		}
	}
	if len(changed) > 1 {
		next, why := decide(factsOf(all))
		if next[0] != rec[0] && !slices.ContainsFunc(out, func(ad Advice) bool { return ad.Topology == next[0] }) {
			out = append(out, Advice{Topology: next[0],
				Text: fmt.Sprintf("When all of these change (%s), move to %s (%s): %s.", strings.Join(changed, ", "), next[0].Title(), next[0], why)})
		}
	}
	if f := factsOf(a); f.migrating && rec[0] != EdgeHybrid {
		out = append(out, Advice{Question: "moveUsersToCloud", Topology: rec[0],
			Text: "The edge is needed only while users are split between on-prem and the cloud: retire it, and the on-prem server, once the last user has moved."})
	}
	return out
}
