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
	var opts cli.ApplyOptions
	var local bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE|-",
		Short: "Create or update tenants from YAML documents, showing what changes",
		Long: `Apply tenant documents to a running server through its API.

FILE holds one or more tenant documents separated by "---" ("-" reads
standard input). Every document is loaded and checked before anything is
sent: unknown fields, wrong types and invalid values are all reported as
FILE:LINE: field: what is wrong, and nothing is applied (exit status 1).
The server then checks the tenant as it would be after the apply
(references between objects, numbers used twice...) and reports its
problems the same way. Each document is applied atomically.

Applying is idempotent. For each document it prints "created",
"configured" or "unchanged", then one line per object:
  + kind name        created
  ~ kind name        changed, followed by "field: before → after" lines
  - kind name        deleted
Passwords are never printed: a changed password shows as "(changed)".

What is deleted: without --prune, nothing. With --prune, every kind the
document lists (its key is present, even as "[]") becomes exactly that
list: objects of those kinds that the document does not name are
deleted. Kinds the document does not mention are never touched.

With --dry-run the server computes and prints the changes but writes
nothing. With --local the documents are only checked here and no server
is contacted; a --dry-run that cannot reach the server falls back to it.`,
		Example: `  # create or update the tenants in contoso.yaml
  switchboard apply -f contoso.yaml

  # see what would change, apply nothing
  switchboard apply -f contoso.yaml --dry-run

  # make the listed kinds exactly what the file says (delete the rest)
  switchboard apply -f contoso.yaml --prune

  # round trip: export the voice routes and apply them back (a no-op)
  switchboard get voiceRoutes --tenant contoso -o yaml | switchboard apply -f -`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			srcs, err := loadSources(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if local {
				printLocallyValid(cmd.OutOrStdout(), srcs)
				return nil
			}
			return applySources(cmd, client(cmd, d), srcs, opts)
		}),
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "`FILE` of tenant documents, or - for standard input")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would change, apply nothing")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "delete objects of the listed kinds that the file does not name")
	cmd.Flags().BoolVar(&local, "local", false, "only check the documents here, contact no server")
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
func applySources(cmd *cobra.Command, c *cli.Client, srcs []cli.Source, opts cli.ApplyOptions) error {
	out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
	for i, s := range srcs {
		res, err := c.ApplyTenantWith(cmd.Context(), s.Document, opts)
		var ae *cli.APIError
		if err != nil && opts.DryRun && i == 0 && !errors.As(err, &ae) {
			// No server to ask: a dry run still checks the documents.
			fmt.Fprintf(errOut, "note: %v: checked locally only\n", err)
			printLocallyValid(out, srcs)
			return nil
		}
		if err != nil {
			reportApplyError(errOut, s, err)
			for _, rest := range srcs[i+1:] {
				fmt.Fprintf(errOut, "tenant %s: not applied\n", tenantName(rest.Document))
			}
			return &exitError{code: exitFailure}
		}
		suffix := ""
		if opts.DryRun {
			suffix = " (dry run: nothing applied)"
		}
		fmt.Fprintf(out, "tenant %s: %s%s\n", res.Tenant, describe(res), suffix)
		printChanges(out, res.Changes)
	}
	return nil
}

func printLocallyValid(w io.Writer, srcs []cli.Source) {
	for _, s := range srcs {
		fmt.Fprintf(w, "tenant %s: valid (dry run, nothing applied)\n", tenantName(s.Document))
	}
}

// printChanges prints one line per changed object, and the changed fields
// of updates.
func printChanges(w io.Writer, changes []cli.Change) {
	for _, c := range changes {
		if c.Kind == "tenant" {
			continue
		}
		sign := map[string]string{"create": "+", "update": "~", "delete": "-"}[c.Action]
		fmt.Fprintf(w, "  %s %s %s\n", sign, singular(c.Kind), c.Name)
		for _, f := range c.Fields {
			before, after := f.Before, f.After
			if before == "" {
				before = "(none)"
			}
			if after == "" {
				after = "(none)"
			}
			fmt.Fprintf(w, "      %s: %s → %s\n", f.Field, before, after)
		}
	}
}

// singular names a kind in diffs: "voiceRoutes" → "voiceRoute".
func singular(kind string) string {
	if k, ok := provision.KindByName(kind); ok {
		return k.Singular
	}
	return kind
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
