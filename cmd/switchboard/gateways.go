package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/api"
	"github.com/switchboard-pbx/switchboard/internal/cli"
)

// gatewayStatuses fetches the live state of the tenant's gateways by
// lowercased FQDN; nil (and no error) when the server does not offer it.
func gatewayStatuses(cmd *cobra.Command, c *cli.Client, tenant string) (map[string]api.GatewayStatus, error) {
	sts, err := c.GatewayStatus(cmd.Context(), tenant)
	var ae *cli.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusNotImplemented || ae.Status == http.StatusNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]api.GatewayStatus, len(sts))
	for _, st := range sts {
		m[strings.ToLower(st.FQDN)] = st
	}
	return m, nil
}

// printGatewayTable is the pstnGateways table with the live columns
// STATUS, LAST OPTIONS and SESSIONS.
func printGatewayTable(cmd *cobra.Command, c *cli.Client, tenant string, items []any, now time.Time) error {
	sts, err := gatewayStatuses(cmd, c, tenant)
	if err != nil {
		return err
	}
	cols := columns("pstnGateways")
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	headers := make([]string, 0, len(cols)+3)
	for _, col := range cols {
		headers = append(headers, col[0])
	}
	fmt.Fprintln(tw, strings.Join(append(headers, "STATUS", "LAST OPTIONS", "SESSIONS"), "\t"))
	for _, it := range items {
		b, _ := json.Marshal(it)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		cells := make([]string, 0, len(cols)+3)
		for _, col := range cols {
			cells = append(cells, cell(m[col[1]]))
		}
		fqdn, _ := m["fqdn"].(string)
		st, ok := sts[strings.ToLower(fqdn)]
		if ok {
			cells = append(cells, st.Status, ago(now, st.LastOptions), sessions(st))
		} else {
			cells = append(cells, "-", "-", "-")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printGatewayStatus prints only the live state (get pstnGateways --status).
func printGatewayStatus(cmd *cobra.Command, c *cli.Client, tenant, name, out string, now time.Time) error {
	sts, err := c.GatewayStatus(cmd.Context(), tenant)
	if err != nil {
		return err
	}
	var v any = sts
	if name != "" {
		found := false
		for _, st := range sts {
			if strings.EqualFold(st.FQDN, name) {
				sts, v, found = []api.GatewayStatus{st}, st, true
				break
			}
		}
		if !found {
			return fmt.Errorf("pstnGateway %q of tenant %q: not found", name, tenant)
		}
	}
	w := cmd.OutOrStdout()
	switch out {
	case "json":
		return printJSON(w, v)
	case "yaml":
		return printYAMLOfJSON(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FQDN\tSTATUS\tLAST OPTIONS\tLAST FAILURE\tFAILURES\tSESSIONS")
	for _, st := range sts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", st.FQDN, st.Status, ago(now, st.LastOptions),
			ago(now, st.LastFailure), st.ConsecutiveFailures, sessions(st))
	}
	return tw.Flush()
}

// printYAMLOfJSON prints v as YAML with its JSON field names, in their order.
func printYAMLOfJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	y, err := yaml.JSONToYAML(b)
	if err != nil {
		return err
	}
	_, err = w.Write(y)
	return err
}

// ago says how long before now t was: "never" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

// sessions renders concurrent sessions, of the maximum when there is one.
func sessions(st api.GatewayStatus) string {
	s := fmt.Sprint(st.Sessions)
	if st.MaxSessions > 0 {
		s += fmt.Sprintf("/%d", st.MaxSessions)
	}
	if st.SessionAlert {
		s += " (alert)"
	}
	return s
}
