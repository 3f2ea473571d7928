package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

func newApplyCmd(d deps) *cobra.Command {
	var file string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Create or update tenants from YAML documents",
		Long: `Apply tenant documents to a running server through its API.

FILE holds one or more tenant documents separated by "---" ("-" reads
standard input). Every document is loaded and checked before anything is
sent: unknown fields, wrong types and invalid values are all reported as
FILE:LINE: field: what is wrong, and nothing is applied (exit status 1).

Applying is idempotent. For each document it prints what happened:
created, configured (something changed) or unchanged. A tenant becomes
exactly what its document says: users missing from it are removed.

With --dry-run the documents are only checked locally.`,
		Example: `  # create or update the tenants in contoso.yaml
  switchboard apply -f contoso.yaml

  # check a file without applying it
  switchboard apply -f contoso.yaml --dry-run

  # from standard input, against a remote node
  cat tenants.yaml | switchboard apply -f - --server https://pbx.example.com --token "$TOKEN"`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			srcs, err := loadSources(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				for _, s := range srcs {
					fmt.Fprintf(out, "tenant %s: valid (dry run, nothing applied)\n", tenantName(s.Document))
				}
				return nil
			}
			return applySources(cmd, client(cmd, d), srcs)
		}),
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "`FILE` of tenant documents, or - for standard input")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the documents locally, apply nothing")
	addClientFlags(cmd)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// loadSources reads and checks every document of file ("-" is stdin).
func loadSources(stdin io.Reader, file string) ([]cli.Source, error) {
	var data []byte
	var err error
	if file == cli.StdinName {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	return cli.Load(file, data)
}

// applySources applies the documents in order and stops at the first
// failure, saying which documents were not applied.
func applySources(cmd *cobra.Command, c *cli.Client, srcs []cli.Source) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for i, s := range srcs {
		res, err := c.ApplyTenant(cmd.Context(), s.Document)
		if err != nil {
			reportApplyError(errOut, s, err)
			for _, rest := range srcs[i+1:] {
				fmt.Fprintf(errOut, "tenant %s: not applied\n", tenantName(rest.Document))
			}
			return &exitError{code: exitFailure}
		}
		fmt.Fprintf(out, "tenant %s: %s\n", res.Tenant, describe(res))
	}
	return nil
}

func describe(res cli.ApplyResult) string {
	switch {
	case res.Created:
		return "created (" + users(res.Users) + ")"
	case res.Changed:
		return "configured (" + users(res.Users) + ")"
	}
	return "unchanged"
}

func users(n int) string {
	if n == 1 {
		return "1 user"
	}
	return fmt.Sprintf("%d users", n)
}

// reportApplyError prints why a document was refused. Field problems the
// server found are pointed at their line, like local ones.
func reportApplyError(w io.Writer, s cli.Source, err error) {
	name := tenantName(s.Document)
	var ae *cli.APIError
	if !errors.As(err, &ae) || len(ae.Errors) == 0 {
		fmt.Fprintf(w, "tenant %s: %v\n", name, err)
		return
	}
	msg := ae.Detail
	if msg == "" {
		msg = ae.Title
	}
	if msg == "" {
		msg = http.StatusText(ae.Status)
	}
	fmt.Fprintf(w, "tenant %s: %s (HTTP %d)\n", name, msg, ae.Status)
	for _, fe := range ae.Errors {
		fmt.Fprintln(w, s.Problem(fe.Field, fe.Message))
	}
}

func tenantName(d provision.Document) string {
	return provision.Canonical(d).Tenant
}
