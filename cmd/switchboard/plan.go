package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/cli/yamldoc"
	"github.com/switchboard-pbx/switchboard/internal/planner"
)

// planOutput is the value of plan's -o: text or json.
type planOutput string

func (o *planOutput) String() string { return string(*o) }
func (o *planOutput) Type() string   { return "text|json" }
func (o *planOutput) Set(s string) error {
	switch s {
	case "text", "json":
		*o = planOutput(s)
		return nil
	}
	return errors.New("must be text or json")
}

// planFlags are plan's options besides the answers.
type planFlags struct {
	answers     string
	output      planOutput
	interactive bool
	countries   []string
	write       string
	domain      string
	users       int
	sites       int
	force       bool
}

func newPlanCmd(_ deps) *cobra.Command {
	pf := planFlags{output: "text"}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Recommend a deployment topology and write a starter configuration",
		Long: `Answer a few questions about your organisation and get the deployment
topology that fits it best: Phone System with Calling Plan (calling-plan), with
Direct Routing through your SBC (direct-routing), with an on-prem edge for
hybrid voice (edge-hybrid), or Enterprise Voice on-prem (enterprise-voice).
The recommendation says why, question by question, lists the infrastructure
each topology needs, and when to move to a simpler one later.

In a terminal, plan asks the questions one by one. Otherwise give the answers
as flags or in a YAML file (--answers); flags override the file. Invalid or
contradictory answers are reported as FILE:LINE: field: message (or --flag:
message) and exit with status 1.

--write DIR writes a starter node configuration (switchboard.yaml), a tenant
document (tenant.yaml) and, for edge-hybrid, the edge node configuration
(edge.yaml, for site1). They pass "serve --config" and "apply --dry-run" as
written; their TODO comments say what to fill in. The SBCs (pstnGateways)
are written disabled until you have filled them in.`,
		Example: `  # ask the questions in the terminal
  switchboard plan

  # the same without questions, as JSON
  switchboard plan --country US --keep-carrier -o json

  # answers from a file, and a starter configuration for contoso.com
  switchboard plan --answers answers.yaml --write ./contoso --domain contoso.com --users 25

  # answers.yaml (every key optional but country):
  #   existingOnPremServer: false
  #   usersHomed: cloud            # onprem | cloud | both
  #   moveUsersToCloud: true
  #   country: US
  #   callingPlanAvailable: true   # default: from the operator's Calling Plan countries
  #   keepCarrier: false
  #   mixCarrierAndCallingPlan: false
  #   existingPbx: false
  #   pbxUniqueFeatures: false
  #   needFeaturesCloudLacks: false
  #   needLocalSurvivability: false`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd, pf)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&pf.answers, "answers", "", "YAML `FILE` of answers, or - for standard input")
	f.VarP(&pf.output, "output", "o", "output format: text or json")
	f.BoolVarP(&pf.interactive, "interactive", "i", false, "ask the questions even when standard input is not a terminal")
	f.StringSliceVar(&pf.countries, "calling-plan-countries", planner.DefaultCallingPlanCountries(), "`CODES` of the countries where the operator sells the Calling Plan")
	f.StringVar(&pf.write, "write", "", "write a starter configuration into `DIR`")
	f.StringVar(&pf.domain, "domain", "", "your SIP `DOMAIN` for --write (default example.com)")
	f.IntVar(&pf.users, "users", 0, fmt.Sprintf("`N` placeholder users for --write (default %d)", planner.DefaultUsers))
	f.IntVar(&pf.sites, "sites", 0, "`N` sites with an edge node for --write (default 1)")
	f.BoolVar(&pf.force, "force", false, "let --write replace existing files")
	for _, q := range planner.Questions() {
		switch q.Key {
		case "usersHomed":
			f.String(q.Flag, "", q.Text+" ("+strings.Join(q.Choices, ", ")+")")
		case "country":
			f.String(q.Flag, "", q.Text+" (ISO 3166-1 alpha-2 `CODE`)")
		default:
			f.Bool(q.Flag, false, q.Text)
		}
	}
	return cmd
}

func runPlan(cmd *cobra.Command, pf planFlags) error {
	fs := cmd.Flags()
	if pf.write == "" {
		for _, name := range []string{"domain", "users", "sites", "force"} {
			if fs.Changed(name) {
				return &exitError{code: exitUsage, err: fmt.Errorf("--%s needs --write DIR", name)}
			}
		}
	}
	op := planner.Operator{}
	for _, c := range pf.countries {
		c = strings.ToUpper(strings.TrimSpace(c))
		if !planner.IsCountry(c) {
			return &exitError{code: exitUsage, err: fmt.Errorf("--calling-plan-countries: %q is not an ISO 3166-1 alpha-2 country code", c)}
		}
		op.CallingPlanCountries = append(op.CallingPlanCountries, c)
	}

	if pf.interactive && pf.answers == cli.StdinName {
		return &exitError{code: exitUsage, err: errors.New("--answers - reads standard input, which the questions need: give a file or drop --interactive")}
	}
	var a planner.Answers
	var src *answersSource
	if pf.answers != "" {
		var err error
		if src, err = loadAnswers(cmd.InOrStdin(), pf.answers, &a); err != nil {
			return err
		}
	}
	flagged, err := applyAnswerFlags(fs, &a)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	stdin, out := cmd.InOrStdin(), cmd.OutOrStdout()
	interactive := pf.interactive || (pf.answers == "" && len(flagged) == 0 && isTerminal(stdin))
	switch {
	case interactive:
		prompts := out
		if pf.output == "json" {
			prompts = cmd.ErrOrStderr() // keep standard output for the JSON
		}
		if a, err = planner.Interview(stdin, prompts, op, a); err != nil {
			return answersError(err, src, flagged)
		}
		fmt.Fprintln(prompts)
	case pf.answers == "" && len(flagged) == 0:
		return &exitError{code: exitUsage, err: errors.New("no answers: run plan in a terminal to be asked, or give --answers FILE or flags (e.g. --country US); see --help")}
	}

	rec, err := planner.Plan(a, op)
	if err != nil {
		return answersError(err, src, flagged)
	}
	info := out // where the list of written files goes
	if pf.output == "json" {
		if err := writePlanJSON(out, rec); err != nil {
			return err
		}
		info = cmd.ErrOrStderr()
	} else {
		writePlanText(out, rec)
	}
	if pf.write == "" {
		return nil
	}
	files, err := planner.Write(rec, a, planner.Options{
		Domain: pf.domain, Users: pf.users, Sites: pf.sites, Dir: pf.write, Overwrite: pf.force,
	})
	if err != nil {
		return err
	}
	writeFileList(info, rec, files)
	return nil
}

// answersSource keeps where the answers file's fields are, so problems
// found after decoding point at their line.
type answersSource struct {
	file string
	doc  *yamldoc.Doc
}

// loadAnswers reads an answers file ("-" is stdin) strictly into a.
func loadAnswers(stdin io.Reader, name string, a *planner.Answers) (*answersSource, error) {
	var data []byte
	var err error
	file := name
	if name == cli.StdinName {
		file = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, err
	}
	docs, perr := yamldoc.Parse(data)
	if perr != nil {
		return nil, &cli.DocError{Lines: []string{perr.Format(file)}}
	}
	switch len(docs) {
	case 0:
		return nil, &cli.DocError{Lines: []string{file + ": no answers"}}
	case 1:
	default:
		p := yamldoc.Problem{Line: docs[1].Line(), Message: "an answers file holds one document"}
		return nil, &cli.DocError{Lines: []string{p.Format(file)}}
	}
	if problems := docs[0].Decode(a); len(problems) > 0 {
		lines := make([]string, len(problems))
		for i, p := range problems {
			lines[i] = p.Format(file)
		}
		return nil, &cli.DocError{Lines: lines}
	}
	return &answersSource{file: file, doc: docs[0]}, nil
}

// applyAnswerFlags sets the answers given as flags over a and returns the
// answer keys that were set, mapped to their flag names.
func applyAnswerFlags(fs *pflag.FlagSet, a *planner.Answers) (map[string]string, error) {
	bools := map[string]*bool{
		"existingOnPremServer":     &a.ExistingOnPremServer,
		"moveUsersToCloud":         &a.MoveUsersToCloud,
		"keepCarrier":              &a.KeepCarrier,
		"mixCarrierAndCallingPlan": &a.MixCarrierAndCallingPlan,
		"existingPbx":              &a.ExistingPbx,
		"pbxUniqueFeatures":        &a.PbxUniqueFeatures,
		"needFeaturesCloudLacks":   &a.NeedFeaturesCloudLacks,
		"needLocalSurvivability":   &a.NeedLocalSurvivability,
	}
	flagged := map[string]string{}
	for _, q := range planner.Questions() {
		if !fs.Changed(q.Flag) {
			continue
		}
		flagged[q.Key] = q.Flag
		var err error
		switch q.Key {
		case "usersHomed":
			var s string
			s, err = fs.GetString(q.Flag)
			a.UsersHomed = planner.Homing(s)
		case "country":
			a.Country, err = fs.GetString(q.Flag)
		case "callingPlanAvailable":
			var v bool
			v, err = fs.GetBool(q.Flag)
			a.CallingPlanAvailable = &v
		default:
			*bools[q.Key], err = fs.GetBool(q.Flag)
		}
		if err != nil {
			return nil, err
		}
	}
	return flagged, nil
}

// answersError reports invalid answers against what gave them: the flag,
// else the line of the answers file, else the answer's name.
func answersError(err error, src *answersSource, flagged map[string]string) error {
	var ve planner.ValidationErrors
	if !errors.As(err, &ve) {
		return err
	}
	lines := make([]string, len(ve))
	for i, fe := range ve {
		switch flag, ok := flagged[fe.Field]; {
		case ok:
			lines[i] = "--" + flag + ": " + fe.Message
		case src != nil:
			lines[i] = yamldoc.Problem{Line: src.doc.LineOf(fe.Field), Path: fe.Field, Message: fe.Message}.Format(src.file)
		default:
			lines[i] = fe.Error()
		}
	}
	return &cli.DocError{Lines: lines}
}

// isTerminal reports whether r is a terminal (a character device other
// than the null device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

func writePlanJSON(w io.Writer, rec planner.Recommendation) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rec)
}

func writePlanText(w io.Writer, rec planner.Recommendation) {
	fmt.Fprintf(w, "Best fit: %s (%s)\n  %s.\n", rec.Best.Title(), rec.Best, capitalize(rec.Summary))
	if len(rec.Recommended) > 1 {
		fmt.Fprintln(w, "Together with:")
		for _, id := range rec.Recommended[1:] {
			fmt.Fprintf(w, "  %s (%s)\n", id.Title(), id)
		}
	}

	fmt.Fprintln(w, "\nWhy, question by question:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rec.Reasons {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.Question, r.Answer, r.Effect)
	}
	_ = tw.Flush()

	fmt.Fprintln(w, "\nWhat it needs:")
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprint(tw, " ")
	for _, id := range rec.Recommended {
		fmt.Fprintf(tw, "\t%s", id)
	}
	fmt.Fprintln(tw)
	rows := []struct {
		label string
		value func(planner.Requirements) string
	}{
		{"  Uninterrupted cloud connection", func(r planner.Requirements) string { return yesNo(r.NeedsCloudConnection) }},
		{"  Available worldwide", func(r planner.Requirements) string { return r.AvailableWorldwide }},
		{"  Session Border Controller (SBC)", func(r planner.Requirements) string { return yesNo(r.NeedsSbc) }},
		{"  Third-party carrier contract", func(r planner.Requirements) string { return yesNo(r.NeedsCarrierContract) }},
		{"  On-prem server or edge node", func(r planner.Requirements) string { return yesNo(r.NeedsOnPremServer) }},
	}
	for _, row := range rows {
		fmt.Fprint(tw, row.label)
		for _, id := range rec.Recommended {
			fmt.Fprintf(tw, "\t%s", row.value(rec.Requirements[id]))
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()

	if len(rec.Advice) > 0 {
		fmt.Fprintln(w, "\nWhen things change:")
		for _, ad := range rec.Advice {
			fmt.Fprintf(w, "  - %s\n", ad.Text)
		}
	}
}

func writeFileList(w io.Writer, rec planner.Recommendation, files []planner.File) {
	fmt.Fprintf(w, "\nStarter configuration for %s written (fill in the TODOs first):\n", rec.Best)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	w = tw
	for _, f := range files {
		switch f.Name {
		case planner.ServerConfigFile:
			fmt.Fprintf(w, "  %s\tnode configuration; check: switchboard serve --config %s\n", f.Path, f.Path)
		case planner.TenantFile:
			fmt.Fprintf(w, "  %s\ttenant document (keep it secret: it holds passwords); check: switchboard apply -f %s --dry-run\n", f.Path, f.Path)
		default:
			fmt.Fprintf(w, "  %s\tedge node configuration (site1): copy it to each site, changing cloud.edge (docs/topologies/hybrid-edge.md)\n", f.Path)
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
