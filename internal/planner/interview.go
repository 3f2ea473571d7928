package planner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Question is one question of the decision guide, as the CLI and the web
// console ask it.
type Question struct {
	Key     string   `json:"key"`               // the answer's key in Answers' YAML/JSON
	Flag    string   `json:"flag"`              // the command-line flag that answers it
	Text    string   `json:"text"`              // the question
	Help    string   `json:"help"`              // a one-line explanation
	Choices []string `json:"choices,omitempty"` // the accepted values, for a choice
}

// Questions returns the questions in the order they are asked, which is
// also the order of Recommendation.Reasons.
func Questions() []Question {
	homed := make([]string, 0, 3)
	for _, h := range Homings() {
		homed = append(homed, string(h))
	}
	return []Question{
		{"existingOnPremServer", "existing-on-prem-server", "Do you run an on-prem Switchboard or Skype for Business-like server today?",
			"Users homed on it can stay there, move to the cloud, or share the SIP domain with the cloud.", nil},
		{"usersHomed", "users-homed", "Where are your users homed today?",
			"onprem: all on your server; cloud: all in the cloud; both: some of each (a split domain).", homed},
		{"moveUsersToCloud", "move-users-to-cloud", "Do you want to move your on-prem users to the cloud?",
			"Users move one at a time and keep their number, settings and voicemail.", nil},
		{"country", "country", "In which country are your users?",
			"Its ISO 3166-1 alpha-2 code, e.g. US, GB, DE: it decides whether the operator's Calling Plan is available.", nil},
		{"callingPlanAvailable", "calling-plan-available", "Is the operator's Calling Plan available to you?",
			"With the Calling Plan the operator is your carrier and provides your numbers; by default it comes from the operator's country list.", nil},
		{"keepCarrier", "keep-carrier", "Must you keep your current phone carrier?",
			"For example because you are bound by a contract, or want to keep its rates or numbers.", nil},
		{"mixCarrierAndCallingPlan", "mix-carrier-and-calling-plan", "Should some calls go through the Calling Plan and others through your own carrier?",
			"Mixed routing: calls matching a voice route take your carrier, all others the Calling Plan.", nil},
		{"existingPbx", "existing-pbx", "Is there an existing PBX or equipment (pagers, analog phones, door phones) to keep?",
			"A third-party PBX or devices that must keep working with your phone system.", nil},
		{"pbxUniqueFeatures", "pbx-unique-features", "Does that PBX have features your business depends on?",
			"Features Switchboard does not replace, so the PBX must stay.", nil},
		{"needFeaturesCloudLacks", "need-features-cloud-lacks", "Do some users need features the cloud does not offer?",
			"Those users stay homed on a Switchboard server on your site.", nil},
		{"needLocalSurvivability", "need-local-survivability", "Must calls keep working when the connection to the cloud is lost?",
			"Local survivability: users on site keep calling each other and the PSTN through your SBC.", nil},
	}
}

// Question keys, for the interview.
const (
	qServer   = 0
	qHomed    = 1
	qMove     = 2
	qCountry  = 3
	qCarrier  = 5
	qMix      = 6
	qPbx      = 7
	qUnique   = 8
	qFeatures = 9
	qSurvive  = 10
)

// ErrInputEnded is returned by Interview when its input ends before every
// question is answered.
var ErrInputEnded = errors.New("input ended before every question was answered")

// Interview asks the questions on out and reads the answers from in, one
// line each. start gives the defaults (a blank line takes the default);
// an invalid answer is explained and the question asked again. Questions
// that earlier answers make moot are skipped. CallingPlanAvailable is not
// asked: the operator's list decides, unless start sets it.
func Interview(in io.Reader, out io.Writer, op Operator, start Answers) (Answers, error) {
	iv := interview{r: bufio.NewReader(in), w: out, qs: Questions()}
	a := start
	a.Country = a.CountryCode()
	fmt.Fprintln(out, "Which deployment topology is right for you? Answer a few questions;")
	fmt.Fprintln(out, "press Enter to take the default shown in brackets.")

	var err error
	if a.ExistingOnPremServer, err = iv.yesNo(qServer, a.ExistingOnPremServer); err != nil {
		return Answers{}, err
	}
	if a.ExistingOnPremServer {
		if a.UsersHomed, err = iv.homed(a.Homed()); err != nil {
			return Answers{}, err
		}
	} else {
		a.UsersHomed = HomedCloud
	}
	if a.Homed() != HomedCloud {
		if a.MoveUsersToCloud, err = iv.yesNo(qMove, a.MoveUsersToCloud); err != nil {
			return Answers{}, err
		}
	}
	if a.Country, err = iv.country(a.Country); err != nil {
		return Answers{}, err
	}
	cp := op.SellsCallingPlan(a.Country)
	switch {
	case a.CallingPlanAvailable != nil:
		cp = *a.CallingPlanAvailable
		fmt.Fprintf(out, "  Calling Plan available: %v (as given).\n", cp)
	case cp:
		fmt.Fprintf(out, "  The operator sells the Calling Plan in %s.\n", a.Country)
	default:
		fmt.Fprintf(out, "  The operator does not sell the Calling Plan in %s: calls need a carrier of your own.\n", a.Country)
	}
	if a.KeepCarrier, err = iv.yesNo(qCarrier, a.KeepCarrier); err != nil {
		return Answers{}, err
	}
	if cp && (a.Homed() != HomedOnPrem || a.MoveUsersToCloud) {
		if a.MixCarrierAndCallingPlan, err = iv.yesNo(qMix, a.MixCarrierAndCallingPlan); err != nil {
			return Answers{}, err
		}
	} else {
		a.MixCarrierAndCallingPlan = false
	}
	if a.ExistingPbx, err = iv.yesNo(qPbx, a.ExistingPbx); err != nil {
		return Answers{}, err
	}
	if a.ExistingPbx {
		if a.PbxUniqueFeatures, err = iv.yesNo(qUnique, a.PbxUniqueFeatures); err != nil {
			return Answers{}, err
		}
	} else {
		a.PbxUniqueFeatures = false
	}
	if a.NeedFeaturesCloudLacks, err = iv.yesNo(qFeatures, a.NeedFeaturesCloudLacks); err != nil {
		return Answers{}, err
	}
	if a.NeedLocalSurvivability, err = iv.yesNo(qSurvive, a.NeedLocalSurvivability); err != nil {
		return Answers{}, err
	}
	return a, Validate(op.Resolve(a))
}

type interview struct {
	r  *bufio.Reader
	w  io.Writer
	qs []Question
}

// ask prints question i with its explanation and default, and returns
// the trimmed line read.
func (iv *interview) ask(i int, choices, def string) (string, error) {
	q := iv.qs[i]
	fmt.Fprintf(iv.w, "\n%s\n  %s\n", q.Text, q.Help)
	return iv.prompt(q.Key, choices, def)
}

func (iv *interview) prompt(key, choices, def string) (string, error) {
	fmt.Fprintf(iv.w, "%s [%s]: ", choices, def)
	line, err := iv.r.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		fmt.Fprintln(iv.w)
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s: %w", key, ErrInputEnded)
		}
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return strings.TrimSpace(line), nil
}

// retry explains an invalid answer before the question is asked again.
func (iv *interview) retry(format string, args ...any) {
	fmt.Fprintf(iv.w, "  "+format+"\n", args...)
}

func (iv *interview) yesNo(i int, def bool) (bool, error) {
	shown := "y/N"
	if def {
		shown = "Y/n"
	}
	line, err := iv.ask(i, "yes/no", shown)
	for ; err == nil; line, err = iv.prompt(iv.qs[i].Key, "yes/no", shown) {
		switch strings.ToLower(line) {
		case "":
			return def, nil
		case "y", "yes", "true":
			return true, nil
		case "n", "no", "false":
			return false, nil
		}
		iv.retry("%q is not an answer: type y or n (or press Enter for the default).", line)
	}
	return false, err
}

func (iv *interview) homed(def Homing) (Homing, error) {
	choices := strings.Join(iv.qs[qHomed].Choices, "/")
	line, err := iv.ask(qHomed, choices, string(def))
	for ; err == nil; line, err = iv.prompt(iv.qs[qHomed].Key, choices, string(def)) {
		h := Homing(strings.ReplaceAll(strings.ToLower(line), "-", ""))
		switch {
		case h == "":
			return def, nil
		case slices.Contains(Homings(), h):
			return h, nil
		}
		iv.retry("%q is not one of %s.", line, strings.Join(iv.qs[qHomed].Choices, ", "))
	}
	return "", err
}

func (iv *interview) country(def string) (string, error) {
	shown := def
	if shown == "" {
		shown = "required"
	}
	line, err := iv.ask(qCountry, "country code", shown)
	for ; err == nil; line, err = iv.prompt(iv.qs[qCountry].Key, "country code", shown) {
		c := strings.ToUpper(line)
		switch {
		case c == "" && def != "":
			return def, nil
		case c == "":
			iv.retry("A country code is required, e.g. US.")
		case c == "UK":
			iv.retry("The ISO code of the United Kingdom is GB.")
		case !IsCountry(c):
			iv.retry("%q is not an ISO 3166-1 alpha-2 country code (e.g. US, GB, DE).", line)
		default:
			return c, nil
		}
	}
	return "", err
}
