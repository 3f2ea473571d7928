package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// Commands of the cloud–edge deployment (issue 6): switchboard status,
// switchboard users move, the status column of get edges and
// tokens create --edge.

func newStatusCmd(d deps) *cobra.Command {
	out := docFormat("table")
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the node's role and hybrid mode (edge: connected or survivable)",
		Long: `Show what the node is in a cloud–edge deployment:

  role   edge (it has a cloud section), cloud (it serves edges) or standalone
  mode   on an edge: connecting, connected (it reaches the cloud) or survivable
         (the cloud is out of reach: local users, fallback registrations of
         cloud users at the site and the local SBC keep working)

An edge also shows its cloud, its last sync and the CDRs waiting for upload;
a cloud lists its edges with their status.`,
		Example: `  # on an edge
  switchboard status -o json --server http://edge1:8080`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			st, err := client(cmd, d).NodeStatus(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "table" {
				return printJSON(w, st) // json (and yaml: the same fields)
			}
			return printNodeStatus(w, st, d.clock())
		}),
	}
	cmd.Flags().VarP(&out, "output", "o", "output `FORMAT`: table or json")
	addClientFlags(cmd)
	return cmd
}

func printNodeStatus(w io.Writer, st hybrid.NodeStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ROLE\t%s\n", st.Role)
	fmt.Fprintf(tw, "MODE\t%s\n", st.Mode)
	if st.Role == hybrid.RoleEdge {
		fmt.Fprintf(tw, "TENANT\t%s\n", st.Tenant)
		fmt.Fprintf(tw, "EDGE\t%s\n", st.Edge)
		if st.Cloud != nil {
			fmt.Fprintf(tw, "CLOUD\t%s (sip %s)\n", st.Cloud.API, st.Cloud.SIP)
		}
		fmt.Fprintf(tw, "LAST CONTACT\t%s\n", since(st.LastContact, now))
		fmt.Fprintf(tw, "LAST SYNC\t%s\n", since(st.LastSync, now))
		fmt.Fprintf(tw, "PENDING CDRS\t%d\n", st.PendingCDRs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Edges) > 0 {
		fmt.Fprintln(w)
		return printEdgeTable(w, st.Edges, now)
	}
	return nil
}

func since(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	return now.Sub(*t).Round(time.Second).String() + " ago"
}

func printEdgeTable(w io.Writer, edges []hybrid.EdgeStatus, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIPADDRESS\tSTATUS\tLAST SYNC\tUSERS")
	for _, e := range edges {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", e.Name, e.SIPAddress, e.Status, since(e.LastSync, now), e.Users)
	}
	return tw.Flush()
}

// edgeTokenCreator creates the token of edge (tokens create --edge).
func edgeTokenCreator(c *cli.Client, edge string) func(ctx context.Context, tenant, name string) (cli.Token, error) {
	return func(ctx context.Context, tenant, name string) (cli.Token, error) {
		return c.CreateEdgeToken(ctx, tenant, edge, name)
	}
}

// printEdges prints get edges with each edge's live status (JSON field
// status: connected, survivable, unknown). -o yaml stays the document.
func printEdges(cmd *cobra.Command, c *cli.Client, tenant, name, out string, items []any, now time.Time) error {
	statuses, err := c.EdgeStatus(cmd.Context(), tenant)
	var api *cli.APIError
	if err != nil && !(errors.As(err, &api) && api.Status == 501) {
		return err
	}
	list := make([]hybrid.EdgeStatus, 0, len(items))
	for _, it := range items {
		e, ok := it.(provision.Edge)
		if !ok {
			continue
		}
		st := hybrid.EdgeStatus{Name: e.Name, Description: e.Description, SIPAddress: e.SIPAddress,
			Status: hybrid.StatusUnknown}
		if i := slices.IndexFunc(statuses, func(s hybrid.EdgeStatus) bool { return s.Name == e.Name }); i >= 0 {
			st.Status, st.LastSync, st.Users = statuses[i].Status, statuses[i].LastSync, statuses[i].Users
		}
		list = append(list, st)
	}
	w := cmd.OutOrStdout()
	switch {
	case out == "json" && name != "" && len(list) == 1:
		return printJSON(w, list[0])
	case out == "json":
		return printJSON(w, list)
	}
	return printEdgeTable(w, list, now)
}

func newUsersCmd(d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users",
		Short: "Act on users (move between the cloud and an edge)",
		Long: `Act on users beyond their definition in the tenant document (which apply and
get manage): move a user between the cloud and an edge of a split domain.`,
		Example: `  switchboard users move bob@contoso.com --to redmond`,
	}
	var tenant, to string
	var dryRun bool
	move := &cobra.Command{
		Use:   "move SIPADDRESS --to online|EDGE",
		Short: "Move a user to another home: the cloud (online) or an edge",
		Long: `Move a user between homes in a split domain. The user keeps their number,
settings and call history; calls follow at once. The old home drops their
registrations and redirects their phones (302) to the new home at their next
REGISTER; an edge learns the move at its next sync (within seconds).`,
		Example: `  switchboard users move alice@contoso.com --to redmond
  switchboard users move alice@contoso.com --to online`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(to) == "" {
				return &exitError{code: exitUsage, err: errors.New(`--to is required: "online" or an edge of the tenant`)}
			}
			c := client(cmd, d)
			addr := strings.ToLower(strings.TrimSpace(args[0]))
			t := tenant
			if t == "" {
				var err error
				if t, err = tenantOfAddress(cmd, c, addr); err != nil {
					return err
				}
			}
			res, err := c.MoveUser(cmd.Context(), t, addr, to, dryRun)
			if err != nil {
				return err
			}
			verb := "moved"
			switch {
			case !res.Changed:
				verb = "already homed"
			case dryRun:
				verb = "would move"
			}
			if verb == "already homed" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is already homed on %s\n", res.SIPAddress, res.To)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s from %s to %s\n", verb, res.SIPAddress, res.From, res.To)
			return nil
		}),
	}
	move.Flags().StringVar(&to, "to", "", `new home: "online" or the name of an edge`)
	move.Flags().StringVar(&tenant, "tenant", "", "`TENANT` of the user (default: the tenant owning the address's domain)")
	move.Flags().BoolVar(&dryRun, "dry-run", false, "check the move, change nothing")
	addClientFlags(move)
	cmd.AddCommand(move)
	return cmd
}

// tenantOfAddress finds the tenant whose domains hold addr's domain.
func tenantOfAddress(cmd *cobra.Command, c *cli.Client, addr string) (string, error) {
	_, domain, ok := strings.Cut(addr, "@")
	if !ok || domain == "" {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("%q is not a SIP address (user@domain)", addr)}
	}
	ts, err := c.Tenants(cmd.Context())
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		for _, d := range t.Domains {
			if strings.EqualFold(d, domain) {
				return t.Name, nil
			}
		}
	}
	return "", &exitError{code: exitFailure, err: fmt.Errorf("no tenant the token sees owns domain %q (give --tenant)", domain)}
}
