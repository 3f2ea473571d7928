package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/routing"
)

// textOrJSON is an -o of text or json.
type textOrJSON string

func (o *textOrJSON) String() string { return string(*o) }
func (o *textOrJSON) Type() string   { return "text|json" }
func (o *textOrJSON) Set(s string) error {
	switch s {
	case "text", "json":
		*o = textOrJSON(s)
		return nil
	}
	return errors.New("must be text or json")
}

func newRouteCmd(d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Explain routing decisions",
		Long: `Explain how the running server routes calls, with the same compiled
configuration and gateway health its call path uses. "route test" explains
one call without placing it.`,
		Example: `  switchboard route test --tenant contoso --user alice@contoso.com --dial "555-0199"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newRouteTestCmd(d))
	return cmd
}

func newRouteTestCmd(d deps) *cobra.Command {
	var tenant, user, dial string
	out := textOrJSON("text")
	cmd := &cobra.Command{
		Use:   "test --user USER --dial STRING",
		Short: "Explain where a call would go, without placing it",
		Long: `Ask the server where a call from USER dialling STRING would go, exactly as
the call path would route it now, without placing a call: every normalisation
step with the rule that matched, the usages tried, the routes in the order
they would be tried with each gateway's health (Active, Demoted: tried last;
Disabled: not tried), or the precise reason the call cannot be routed.

USER is one of the tenant's users: SIP address, user part or extension.

-o json prints the decision as a stable contract for scripts:
  dialed      the string as dialled
  normalized  the number (or user) it became
  rule        the normalisation rule that matched, if any
  target      user | pstn | emergency | rejected
  user        the callee's SIP address when target is user
  via         when target is pstn or emergency: directRouting, or
              "edge NAME" when the gateway tried first sits at hybrid edge
              NAME (the call is carried through that edge)
  usage       the PSTN usage whose routes matched
  routes      [{name, priority, gateways: [fqdn...], status: [...], edges,
              excluded}], in the order they are tried; edges (only when a
              gateway sits at an edge) names each gateway's edge, "" if none
  reason      why, when target is rejected (cause: a machine-readable class)
  emergency   true for an emergency number
  steps       the explanation, one line per step
The command exits 0 whenever the server could explain the call, rejected or not.`,
		Example: `  # a 7-digit local number dialled by alice
  switchboard route test --tenant contoso --user alice@contoso.com --dial "555-0199"

  # the same as JSON, for a script
  switchboard route test --user alice --dial "+1 (206) 555-0100" -o json | jq .routes`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(user) == "" || dial == "" {
				return &exitError{code: exitUsage, err: errors.New("--user and --dial are required")}
			}
			c := client(cmd, d)
			t, err := resolveTenant(cmd, c, tenant)
			if err != nil {
				return err
			}
			dec, err := c.RouteTest(cmd.Context(), t, user, dial)
			if err != nil {
				return err
			}
			if out == "json" {
				return printJSON(cmd.OutOrStdout(), dec)
			}
			return writeDecision(cmd.OutOrStdout(), user, dec)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&tenant, "tenant", "", "`TENANT` of the user (default: the only one the token sees)")
	f.StringVar(&user, "user", "", "the calling `USER`: SIP address, user part or extension")
	f.StringVar(&dial, "dial", "", "the `STRING` the user dials, as typed")
	f.VarP(&out, "output", "o", "output format: text or json")
	addClientFlags(cmd)
	return cmd
}

// writeDecision prints a routing decision for humans: the steps, then the
// outcome and the routes in try order with each gateway's health.
func writeDecision(w io.Writer, user string, d routing.Decision) error {
	fmt.Fprintf(w, "Route test: %s dials %q\n\nSteps:\n", user, d.Dialed)
	for i, s := range d.Steps {
		fmt.Fprintf(w, "  %2d. %s\n", i+1, s)
	}
	fmt.Fprintln(w, "\nResult:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	row("dialed", fmt.Sprintf("%q", d.Dialed))
	normalized := d.Normalized
	if strings.TrimSpace(normalized) != normalized {
		normalized = fmt.Sprintf("%q", normalized)
	}
	row("normalized", normalized)
	row("rule", d.Rule)
	target := string(d.Target)
	if d.Target == routing.TargetRejected && d.Cause != "" {
		target += " (" + string(d.Cause) + ")"
	}
	if d.Emergency && d.Target != routing.TargetEmergency {
		target += ", emergency number"
	}
	row("target", target)
	row("user", d.User)
	row("via", d.Via)
	row("usage", d.Usage)
	row("reason", d.Reason)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(d.Routes) == 0 {
		return nil
	}
	if d.Target == routing.TargetRejected {
		fmt.Fprintln(w, "\nMatching routes (none can be tried):")
	} else {
		fmt.Fprintln(w, "\nRoutes, in the order they are tried:")
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, r := range d.Routes {
		fmt.Fprintf(tw, "  %d. %s (priority %d)\n", i+1, r.Name, r.Priority)
		if len(r.Gateways) == 0 {
			fmt.Fprintf(tw, "       no usable gateway\n")
		}
		for j, g := range r.Gateways {
			st := ""
			if j < len(r.Status) {
				st = string(r.Status[j])
			}
			if j < len(r.Edges) && r.Edges[j] != "" {
				st += "\tvia edge " + r.Edges[j]
			}
			fmt.Fprintf(tw, "       %d. %s\t%s\n", j+1, g, st)
		}
		for _, g := range r.Excluded {
			fmt.Fprintf(tw, "       -  %s\tDisabled, not tried\n", g)
		}
	}
	return tw.Flush()
}
