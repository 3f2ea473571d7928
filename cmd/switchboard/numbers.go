package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
)

// The Calling Plan commands (issue 5): numbers, usage, credits.

func newNumbersCmd(d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "numbers",
		Short: "Calling Plan numbers: search the operator's inventory, acquire, assign, release",
		Long: `Manage the phone numbers tenants get from the operator's number inventory
(Calling Plan). A number belongs to at most one tenant and one user. Assigning
a number to a user makes it their lineUri with numberType CallingPlan, and
calls from the operator's carriers to it ring that user. A released number is
quarantined (30 days by default) before anyone can acquire it again.`,
		Example: `  # numbers available in area code 425
  switchboard numbers search --country US --area-code 425

  # acquire two of them, or a given one, for contoso
  switchboard numbers acquire --tenant contoso --country US --area-code 425 --count 2
  switchboard numbers acquire --tenant contoso +14255550100

  # give one to alice, list contoso's numbers, release one
  switchboard numbers assign --tenant contoso --user alice@contoso.com +14255550100
  switchboard numbers list --tenant contoso
  switchboard numbers release --tenant contoso +14255550101`,
	}
	var tenant, country, areaCode, typ, user string
	var limit, count int
	output := outputFormat("table")
	sub := func(use, short string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) (any, error)) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: args,
			RunE: runE(func(cmd *cobra.Command, args []string) error {
				v, err := run(cmd, args)
				if err != nil {
					return err
				}
				return printNumbers(cmd.OutOrStdout(), v, string(output))
			})}
		c.Flags().VarP(&output, "output", "o", "output format: table or json")
		addClientFlags(c)
		return c
	}
	search := sub("search", "List available numbers of the inventory", cobra.NoArgs, func(cmd *cobra.Command, _ []string) (any, error) {
		return client(cmd, d).SearchNumbers(cmd.Context(), numbering.Filter{Country: country, AreaCode: areaCode, Type: typ, Limit: limit})
	})
	search.Flags().StringVar(&country, "country", "", "ISO 3166 `COUNTRY` (US)")
	search.Flags().StringVar(&areaCode, "area-code", "", "area `CODE` (425)")
	search.Flags().StringVar(&typ, "type", "", "user or service numbers")
	search.Flags().IntVar(&limit, "limit", 10, "at most `N` numbers")

	list := sub("list", "List a tenant's numbers", cobra.NoArgs, func(cmd *cobra.Command, _ []string) (any, error) {
		return client(cmd, d).Numbers(cmd.Context(), tenant)
	})
	acquire := sub("acquire [NUMBER...]", "Acquire the numbers given, or --count numbers matching the filters",
		cobra.ArbitraryArgs, func(cmd *cobra.Command, args []string) (any, error) {
			req := api.AcquireRequest{Numbers: args, Country: country, AreaCode: areaCode, Type: typ, Count: count}
			if len(args) > 0 && count > 0 {
				return nil, &exitError{code: exitUsage, err: errors.New("give numbers or --count, not both")}
			}
			if len(args) == 0 && count == 0 {
				req.Count = 1
			}
			return client(cmd, d).AcquireNumbers(cmd.Context(), tenant, req)
		})
	acquire.Flags().StringVar(&country, "country", "", "ISO 3166 `COUNTRY` (US)")
	acquire.Flags().StringVar(&areaCode, "area-code", "", "area `CODE` (425)")
	acquire.Flags().StringVar(&typ, "type", "", "user or service numbers")
	acquire.Flags().IntVar(&count, "count", 0, "acquire `N` numbers matching the filters (default 1)")

	release := sub("release NUMBER", "Release a number (quarantined before reuse)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (any, error) {
			return client(cmd, d).ReleaseNumber(cmd.Context(), tenant, args[0])
		})
	assign := sub("assign NUMBER", "Assign a user number to --user", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (any, error) {
			return client(cmd, d).AssignNumber(cmd.Context(), tenant, args[0], user)
		})
	assign.Flags().StringVar(&user, "user", "", "the user's `SIP address`")
	_ = assign.MarkFlagRequired("user")
	unassign := sub("unassign NUMBER", "Take a number from its user (the tenant keeps it)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (any, error) {
			return client(cmd, d).UnassignNumber(cmd.Context(), tenant, args[0])
		})
	for _, c := range []*cobra.Command{list, acquire, release, assign, unassign} {
		c.Flags().StringVar(&tenant, "tenant", "", "the `TENANT`")
		_ = c.MarkFlagRequired("tenant")
	}
	cmd.AddCommand(search, list, acquire, release, assign, unassign)
	return cmd
}

func printNumbers(w io.Writer, v any, output string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	var ns []numbering.Number
	switch v := v.(type) {
	case []numbering.Number:
		ns = v
	case numbering.Number:
		ns = []numbering.Number{v}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NUMBER\tCOUNTRY\tAREA\tTYPE\tSTATUS\tTENANT\tUSER\tUNTIL")
	for _, n := range ns {
		until := "-"
		if !n.QuarantinedUntil.IsZero() {
			until = n.QuarantinedUntil.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Number, n.Country, dash(n.AreaCode), n.Type, n.Status,
			dash(n.Tenant), dash(n.User), until)
	}
	return tw.Flush()
}

func newUsageCmd(d deps) *cobra.Command {
	var tenant, month string
	output := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Calling Plan usage of a tenant: minute pools, credits, per user",
		Long: `Show a tenant's Calling Plan usage for a calendar month (UTC; default: this
one): each minute pool (per country, licence and domestic/international) with
the minutes included (users × allowance), used, held by calls in progress and
left; the Communications Credits balance and the month's spend; and per user
the calls, pool minutes and credits spent.`,
		Example: `  switchboard usage --tenant contoso
  switchboard usage --tenant contoso --month 2025-01 -o json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			u, err := client(cmd, d).Usage(cmd.Context(), tenant, month)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(u)
			}
			return printUsage(cmd.OutOrStdout(), u)
		}),
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the `TENANT`")
	cmd.Flags().StringVar(&month, "month", "", "`YYYY-MM` (UTC; default this month)")
	cmd.Flags().VarP(&output, "output", "o", "output format: table or json")
	_ = cmd.MarkFlagRequired("tenant")
	addClientFlags(cmd)
	return cmd
}

func printUsage(w io.Writer, u numbering.Usage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Tenant %s, %s\n\n", u.Tenant, u.Month)
	fmt.Fprintln(tw, "COUNTRY\tPLAN\tKIND\tLICENCES\tINCLUDED\tUSED\tRESERVED\tLEFT")
	for _, p := range u.Pools {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", p.Country, p.Plan, p.Kind, p.Licences, p.Included, p.Used,
			p.Reserved, p.Left)
	}
	fmt.Fprintf(tw, "\nCredits: balance %s, reserved %s, spent this month %s\n\n", u.Credits.Balance, u.Credits.Reserved,
		u.Credits.Spent)
	fmt.Fprintln(tw, "USER\tPLAN\tLOCATION\tCALLS\tMINUTES\tSPENT\tLIMIT")
	for _, x := range u.Users {
		limit := "-"
		if x.SpendLimit != nil {
			limit = x.SpendLimit.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", x.User, dash(x.CallingPlan), dash(x.UsageLocation), x.Calls,
			x.Minutes, x.Spent, limit)
	}
	return tw.Flush()
}

func newCreditsCmd(d deps) *cobra.Command {
	var tenant, amount, user string
	var remove bool
	cmd := &cobra.Command{
		Use:   "credits",
		Short: "Communications Credits: top up a tenant's balance, set users' spend limits",
		Long: `Communications Credits are a tenant's prepaid balance for Calling Plan calls
that no minute pool covers (international calls without an international plan,
pay-as-you-go users, domestic calls once the pool is used up), at the
operator's per-minute rates. Only the operator tops them up. A user's monthly
spend limit keeps one user from spending the tenant's balance.`,
		Example: `  switchboard credits topup --tenant contoso --amount 20
  switchboard credits limit --tenant contoso --user alice@contoso.com --amount 5
  switchboard credits limit --tenant contoso --user alice@contoso.com --remove`,
	}
	topup := &cobra.Command{Use: "topup", Short: "Add credits to a tenant's balance (operator)", Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			m, err := numbering.ParseMoney(amount)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--amount: %w", err)}
			}
			cr, err := client(cmd, d).TopUp(cmd.Context(), tenant, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tenant %s: balance %s\n", cr.Tenant, cr.Balance)
			return nil
		})}
	limit := &cobra.Command{Use: "limit", Short: "Set or remove a user's monthly spend limit", Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			var lim *numbering.Money
			switch {
			case remove && amount != "":
				return &exitError{code: exitUsage, err: errors.New("give --amount or --remove, not both")}
			case !remove:
				m, err := numbering.ParseMoney(amount)
				if err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--amount: %w", err)}
				}
				lim = &m
			}
			if err := client(cmd, d).SetSpendLimit(cmd.Context(), tenant, user, lim); err != nil {
				return err
			}
			if lim == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: no spend limit\n", user)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: spend limit %s a month\n", user, lim)
			}
			return nil
		})}
	limit.Flags().StringVar(&user, "user", "", "the user's `SIP address`")
	limit.Flags().BoolVar(&remove, "remove", false, "remove the limit")
	_ = limit.MarkFlagRequired("user")
	for _, c := range []*cobra.Command{topup, limit} {
		c.Flags().StringVar(&tenant, "tenant", "", "the `TENANT`")
		c.Flags().StringVar(&amount, "amount", "", "`AMOUNT` of currency, e.g. 20 or 0.5")
		_ = c.MarkFlagRequired("tenant")
		addClientFlags(c)
	}
	_ = topup.MarkFlagRequired("amount")
	cmd.AddCommand(topup, limit)
	return cmd
}
