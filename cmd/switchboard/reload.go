package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newReloadCmd(d deps) *cobra.Command {
	output := outputFormat("table")
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make the server read its configuration file again (operator)",
		Long: `Make a running server read its configuration file (serve --config) again,
like SIGHUP does; it needs the operator token.

The whole file is validated first: if anything is wrong, nothing changes and
the problems are printed as FILE:LINE: key: message (exit status 1).
Otherwise the callingPlan section (carriers, countries, plans, rates,
numberInventory) is applied at once while calls go on, and the changes are
printed. Other keys whose value changed (sip, http, rtpPorts, logLevel, ...)
are listed as needing a restart: they are not applied.`,
		Example: `  # after editing /etc/switchboard/node.yaml
  switchboard reload

  # the same with signals, on the server's machine
  kill -HUP $(pidof switchboard)`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			res, err := client(cmd, d).Reload(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			fmt.Fprintf(w, "reloaded %s\n", res.File)
			if len(res.Changes) == 0 {
				fmt.Fprintln(w, "no change to the Calling Plan")
			}
			for _, c := range res.Changes {
				fmt.Fprintf(w, "  %s\n", c)
			}
			for _, k := range res.NeedsRestart {
				fmt.Fprintf(w, "needs restart: %s (changed in the file, not applied)\n", k)
			}
			return nil
		}),
	}
	cmd.Flags().VarP(&output, "output", "o", "output format: table or json")
	addClientFlags(cmd)
	return cmd
}
