package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/provision"
)

func newDeleteCmd(d deps) *cobra.Command {
	var tenant string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "delete KIND NAME",
		Short: "Delete one object of a tenant, or a whole tenant",
		Long: `Delete one object through the API. The server refuses (HTTP 409) to delete
an object something still refers to — a gateway used by a voice route, a
usage of a policy — and names what refers to it. "delete tenant NAME"
deletes a tenant and everything it owns (operator token only).

KIND is one of: tenant, ` + strings.Join(kindNames()[2:], ", ") + `.`,
		Example: `  # delete a voice route
  switchboard delete voiceRoute redmond --tenant contoso

  # see what deleting a user would change
  switchboard delete user bob@contoso.com --tenant contoso --dry-run

  # delete a tenant
  switchboard delete tenant fabrikam`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeKinds,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c := client(cmd, d)
			kind, name := strings.ToLower(args[0]), args[1]
			if kind == "tenant" || kind == "tenants" {
				res, err := c.Delete(cmd.Context(), name, "tenant", name, dryRun)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: deleted%s\n", res.Tenant, dryRunNote(dryRun))
				return nil
			}
			k, ok := provision.KindByName(kind)
			if !ok {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown kind %q", args[0])}
			}
			t, err := resolveTenant(cmd, c, tenant)
			if err != nil {
				return err
			}
			res, err := c.Delete(cmd.Context(), t, k.Name, name, dryRun)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: configured%s\n", res.Tenant, dryRunNote(dryRun))
			printChanges(cmd.OutOrStdout(), res.Changes)
			return nil
		}),
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "`TENANT` of the object (default: the only one the token sees)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change, delete nothing")
	addClientFlags(cmd)
	return cmd
}

func dryRunNote(dryRun bool) string {
	if dryRun {
		return " (dry run: nothing applied)"
	}
	return ""
}

func newTokensCmd(d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke tenant-admin API tokens (operator only)",
		Long: `Tenant-admin tokens see and change only their tenant: every other tenant
looks as if it did not exist (HTTP 404). Only the operator token may manage
tokens. The server keeps the SHA-256 of each token, never the token: it is
printed once, by "tokens create".`,
		Example: `  switchboard tokens create --tenant contoso
  switchboard tokens list
  switchboard tokens delete 3f2a9c01b7e4`,
	}
	var tenant, name, edge string
	create := &cobra.Command{
		Use:     "create --tenant TENANT [--name NAME]",
		Short:   "Create a tenant-admin token and print it (once)",
		Long:    "Create a token that administers one tenant. The token is printed on standard output, once.",
		Example: `  SWITCHBOARD_TOKEN=$(switchboard tokens create --tenant contoso) switchboard get users`,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			create := client(cmd, d).CreateToken
			if edge != "" { // the token of an edge node (hybrid.go)
				create = edgeTokenCreator(client(cmd, d), edge)
			}
			t, err := create(cmd.Context(), tenant, name)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), t.Secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%s) for tenant %s created; it is not shown again\n", t.ID, t.Name, t.Tenant)
			return nil
		}),
	}
	create.Flags().StringVar(&tenant, "tenant", "", "`TENANT` the token administers")
	create.Flags().StringVar(&name, "name", "", "`NAME` of the token, for the audit log (default TENANT-admin)")
	create.Flags().StringVar(&edge, "edge", "", "make the token of edge `EDGE` of the tenant: it only syncs that edge's configuration and uploads its CDRs")
	_ = create.MarkFlagRequired("tenant")
	addClientFlags(create)

	var listTenant string
	list := &cobra.Command{
		Use:     "list [--tenant TENANT]",
		Short:   "List tokens (never their secrets)",
		Long:    "List the API tokens, optionally of one tenant.",
		Example: `  switchboard tokens list --tenant contoso`,
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			ts, err := client(cmd, d).Tokens(cmd.Context(), listTenant)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tTENANT\tCREATED\tBY")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Tenant, t.Created, t.CreatedBy)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&listTenant, "tenant", "", "only the tokens of `TENANT`")
	addClientFlags(list)

	del := &cobra.Command{
		Use:     "delete ID",
		Short:   "Revoke a token",
		Long:    "Revoke a token at once: requests with it are refused from now on.",
		Example: `  switchboard tokens delete 3f2a9c01b7e4`,
		Args:    cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := client(cmd, d).DeleteToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s deleted\n", args[0])
			return nil
		}),
	}
	addClientFlags(del)
	cmd.AddCommand(create, list, del)
	return cmd
}

func newAuditCmd(d deps) *cobra.Command {
	var tenant string
	var limit int
	out := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "audit [--tenant TENANT]",
		Short: "Show the audit log: who changed what, when",
		Long: `Show the audit log, newest first: the token that made each change, when,
the object, and the fields that changed (passwords only as "(changed)").
A tenant token sees its own tenant's entries only.`,
		Example: `  switchboard audit --tenant contoso --limit 20
  switchboard audit -o json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			entries, err := client(cmd, d).Audit(cmd.Context(), tenant, limit)
			if err != nil {
				return err
			}
			if out == "json" {
				return printJSON(cmd.OutOrStdout(), entries)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tACTOR\tTENANT\tACTION\tKIND\tNAME\tFIELDS")
			for _, e := range entries {
				fields := make([]string, len(e.Changes))
				for i, c := range e.Changes {
					fields[i] = c.Field
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Time.Format("2006-01-02T15:04:05Z"),
					e.ActorName, e.Tenant, e.Action, e.Kind, e.Name, strings.Join(fields, ","))
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only the entries of `TENANT`")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most `N` entries (default 100)")
	cmd.Flags().VarP(&out, "output", "o", "output `FORMAT`: table or json")
	addClientFlags(cmd)
	return cmd
}
