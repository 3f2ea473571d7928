package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// outputFormat is the value of -o: table or json.
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "table|json" }
func (o *outputFormat) Set(s string) error {
	switch s {
	case "table", "json":
		*o = outputFormat(s)
		return nil
	}
	return errors.New("must be table or json")
}

func newCDRCmd(d deps) *cobra.Command {
	var tenant string
	var limit int
	output := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "cdr",
		Short: "List call detail records",
		Long: `List the call detail records of a running server, newest first.

The table shows the start time (RFC 3339, UTC), the tenant, the caller's and
the callee's sip addresses, the number as dialled, how the call ended
(answered, busy, no-answer, ...), the final SIP status given to the caller,
the answered duration, who hung up and how a PSTN call left (VIA:
directRouting or callingPlan, marked "(emergency)" for emergency calls).
-o json prints the records as a JSON array with every field.`,
		Example: `  # the last 50 calls of every tenant the token may see
  switchboard cdr

  # the last 10 calls of contoso, as JSON
  switchboard cdr --tenant contoso --limit 10 -o json`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--limit must be at least 1, not %d", limit)}
			}
			cdrs, err := client(cmd, d).CDRs(cmd.Context(), tenant, limit)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), cdrs)
			}
			return writeCDRTable(cmd.OutOrStdout(), cdrs)
		}),
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this `TENANT`'s calls")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most `N` records")
	cmd.Flags().VarP(&output, "output", "o", "output format: table or json")
	addClientFlags(cmd)
	return cmd
}

func writeJSON(w io.Writer, cdrs []pbx.CDR) error {
	if cdrs == nil {
		cdrs = []pbx.CDR{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(cdrs)
}

func writeCDRTable(w io.Writer, cdrs []pbx.CDR) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tTENANT\tCALLER\tCALLEE\tDIALED\tRESULT\tCAUSE\tDURATION\tHANGUP\tVIA")
	for _, c := range cdrs {
		via := c.Via // directRouting | callingPlan, "" between users
		if c.Emergency {
			via += "(emergency)"
		}
		hangup := string(c.HangupBy)
		if c.EndReason != "" {
			hangup += "(" + c.EndReason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.Start.UTC().Format(time.RFC3339),
			dash(c.Tenant), dash(c.Caller), dash(c.Callee), dash(c.Dialed),
			dash(string(c.Result)), cause(c.Cause),
			(time.Duration(c.Duration) * time.Second).String(),
			dash(hangup), dash(via))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cause(c int) string {
	if c == 0 {
		return "-"
	}
	return strconv.Itoa(c)
}
