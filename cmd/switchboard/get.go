package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/switchboard-pbx/switchboard/internal/cli"
	"github.com/switchboard-pbx/switchboard/internal/provision"
)

// kindNames lists the kinds get and delete accept, for help and completion.
func kindNames() []string {
	names := []string{"tenants", "settings"}
	for _, k := range provision.Kinds() {
		names = append(names, k.Name)
	}
	return names
}

func completeKinds(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return kindNames(), cobra.ShellCompDirectiveNoFileComp
}

func newGetCmd(d deps) *cobra.Command {
	var tenant string
	var status bool
	out := docFormat("table")
	cmd := &cobra.Command{
		Use:   "get KIND [NAME]",
		Short: "Show tenants and their objects (table, JSON, or YAML that apply takes back)",
		Long: `Show the objects of a kind, or one of them, from a running server.

KIND is one of: ` + strings.Join(kindNames(), ", ") + `
(singular forms and short aliases such as gateways, routes, policies, usages,
locations also work, in any case).

-o yaml prints a tenant document: "switchboard get ... -o yaml | switchboard
apply -f -" changes nothing. Users are shown without passwords (an apply
without a password keeps the user's credentials).

The pstnGateways table adds each gateway's live state: STATUS (Active;
Demoted: no OPTIONS within the health window or failing calls, tried last;
Disabled: enabled is false), LAST OPTIONS and SESSIONS (concurrent calls, of
maxConcurrentSessions; "(alert)" at 90 %). The state is not part of the
document, so -o json and -o yaml leave it out; --status prints only the state
(table, json or yaml), e.g. for scripts.

--tenant may be left out when the token sees a single tenant.`,
		Example: `  # every voice route of contoso, as a table
  switchboard get voiceRoutes --tenant contoso

  # one gateway as JSON
  switchboard get gateway sbc1.contoso.com --tenant contoso -o json

  # the whole tenant as a re-appliable document
  switchboard get tenant contoso -o yaml > contoso.yaml

  # the gateways with their health, and the health alone as JSON
  switchboard get pstnGateways --tenant contoso
  switchboard get pstnGateways --tenant contoso --status -o json`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeKinds,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			c := client(cmd, d)
			name := ""
			if len(args) == 2 {
				name = args[1]
			}
			kind := strings.ToLower(args[0])
			w := cmd.OutOrStdout()
			gk, ok := provision.KindByName(kind)
			isGateways := ok && gk.Name == "pstnGateways"
			if status && !isGateways {
				return &exitError{code: exitUsage, err: fmt.Errorf("--status applies to pstnGateways only, not %q", args[0])}
			}
			if kind == "tenant" || kind == "tenants" {
				return getTenants(cmd, c, name, string(out), w)
			}
			t, err := resolveTenant(cmd, c, tenant)
			if err != nil {
				return err
			}
			if kind == "settings" {
				doc, err := c.Tenant(cmd.Context(), t)
				if err != nil {
					return err
				}
				return printDocs(w, string(out), []provision.Document{{Tenant: t, Settings: doc.Settings}}, doc.Settings)
			}
			k, ok := provision.KindByName(kind)
			if !ok {
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown kind %q (expected one of %s)", args[0], strings.Join(kindNames(), ", "))}
			}
			if status {
				return printGatewayStatus(cmd, c, t, name, string(out), d.clock())
			}
			var raws []json.RawMessage
			if name != "" {
				raw, err := c.Get(cmd.Context(), t, k.Name, name)
				if err != nil {
					return err
				}
				raws = []json.RawMessage{raw}
			} else if raws, err = c.List(cmd.Context(), t, k.Name); err != nil {
				return err
			}
			items := make([]any, len(raws))
			for i, raw := range raws {
				if items[i], err = k.Decode(raw); err != nil {
					return fmt.Errorf("decode %s: %w", k.Singular, err)
				}
			}
			if k.Name == "edges" && out != "yaml" { // with each edge's live status (hybrid.go)
				return printEdges(cmd, c, t, name, string(out), items, d.clock())
			}
			switch out {
			case "yaml":
				return printDocs(w, "yaml", []provision.Document{k.Document(t, items...)}, nil)
			case "json":
				if name != "" {
					return printJSON(w, items[0])
				}
				return printJSON(w, items)
			}
			if isGateways {
				return printGatewayTable(cmd, c, t, items, d.clock())
			}
			return printTable(w, k, items)
		}),
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "`TENANT` to show (default: the only one the token sees)")
	cmd.Flags().BoolVar(&status, "status", false, "pstnGateways: print only their live state (not part of the document)")
	cmd.Flags().VarP(&out, "output", "o", "output `FORMAT`: table, json or yaml")
	addClientFlags(cmd)
	return cmd
}

// docFormat is the -o of get: table, json or yaml.
type docFormat string

func (o *docFormat) String() string { return string(*o) }
func (o *docFormat) Type() string   { return "table|json|yaml" }
func (o *docFormat) Set(s string) error {
	switch s {
	case "table", "json", "yaml":
		*o = docFormat(s)
		return nil
	}
	return fmt.Errorf("%q is not table, json or yaml", s)
}

// resolveTenant returns --tenant, or the only tenant the token sees.
func resolveTenant(cmd *cobra.Command, c *cli.Client, tenant string) (string, error) {
	if tenant != "" {
		return tenant, nil
	}
	ts, err := c.Tenants(cmd.Context())
	if err != nil {
		return "", err
	}
	if len(ts) == 1 {
		return ts[0].Name, nil
	}
	return "", &exitError{code: exitUsage, err: errors.New("--tenant is required (the token sees several tenants, or none)")}
}

func getTenants(cmd *cobra.Command, c *cli.Client, name, out string, w io.Writer) error {
	var names []string
	if name != "" {
		names = []string{name}
	} else {
		ts, err := c.Tenants(cmd.Context())
		if err != nil {
			return err
		}
		for _, t := range ts {
			names = append(names, t.Name)
		}
	}
	docs := make([]provision.Document, 0, len(names))
	for _, n := range names {
		doc, err := c.Tenant(cmd.Context(), n)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	switch out {
	case "yaml", "json":
		var v any = docs
		if name != "" {
			v = docs[0]
		}
		return printDocs(w, out, docs, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TENANT\tDOMAINS\tUSERS\tGATEWAYS\tROUTES")
	for _, d := range docs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", d.Tenant, strings.Join(d.Domains, ","), len(d.Users), len(d.PSTNGateways), len(d.VoiceRoutes))
	}
	return tw.Flush()
}

// printDocs prints documents as YAML ("---" separated), or v as JSON.
func printDocs(w io.Writer, out string, docs []provision.Document, v any) error {
	if out == "json" || out == "table" {
		return printJSON(w, v)
	}
	for i, d := range docs {
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		b, err := yaml.MarshalWithOptions(d, yaml.UseLiteralStyleIfMultiline(true))
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// columns are the table columns of each kind: header and JSON field.
func columns(kind string) [][2]string {
	switch kind {
	case "users":
		return [][2]string{{"SIPADDRESS", "sipAddress"}, {"NAME", "displayName"}, {"EXTENSION", "extension"},
			{"LINEURI", "lineUri"}, {"NUMBERTYPE", "numberType"}, {"POLICY", "voiceRoutingPolicy"}, {"HOME", "home"}}
	case "pstnGateways":
		return [][2]string{{"FQDN", "fqdn"}, {"TRANSPORT", "transport"}, {"PORT", "sipSignalingPort"},
			{"ADDRESS", "address"}, {"EDGE", "edge"}, {"ENABLED", "enabled"}, {"OPTIONS", "sendSipOptions"}}
	case "voiceRoutes":
		return [][2]string{{"NAME", "name"}, {"PRIORITY", "priority"}, {"PATTERN", "numberPattern"},
			{"GATEWAYS", "onlinePstnGatewayList"}, {"USAGES", "onlinePstnUsages"}}
	case "voiceRoutingPolicies":
		return [][2]string{{"NAME", "name"}, {"USAGES", "onlinePstnUsages"}}
	case "dialPlans":
		return [][2]string{{"NAME", "name"}, {"PREFIX", "externalAccessPrefix"}, {"RULES", "normalizationRules"}}
	case "translationRules":
		return [][2]string{{"NAME", "name"}, {"PATTERN", "pattern"}, {"TRANSLATION", "translation"}}
	case "callerIdPolicies":
		return [][2]string{{"NAME", "name"}, {"SUBSTITUTE", "callingIdSubstitute"}, {"NUMBER", "serviceNumber"}}
	case "emergencyRoutingPolicies":
		return [][2]string{{"NAME", "name"}, {"NUMBERS", "emergencyNumbers"}}
	case "emergencyLocations":
		return [][2]string{{"NAME", "name"}, {"STREET", "streetAddress"}, {"CITY", "city"}, {"COUNTRY", "countryOrRegion"}}
	case "edges":
		return [][2]string{{"NAME", "name"}, {"SIPADDRESS", "sipAddress"}}
	}
	return [][2]string{{"NAME", ""}}
}

func printTable(w io.Writer, k provision.Kind, items []any) error {
	cols := columns(k.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c[0]
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, it := range items {
		b, _ := json.Marshal(it)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		cells := make([]string, len(cols))
		for i, c := range cols {
			if c[1] == "" {
				cells[i] = k.NameOf(it)
				continue
			}
			cells[i] = cell(m[c[1]])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// cell renders a JSON value in a table: lists joined by commas, lists of
// objects by their names or dial strings.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				e = cmpOr(m["name"], m["dialString"])
			}
			parts = append(parts, cell(e))
		}
		return strings.Join(parts, ",")
	case float64:
		return fmt.Sprint(int64(x))
	}
	return fmt.Sprint(v)
}

func cmpOr(vs ...any) any {
	i := slices.IndexFunc(vs, func(v any) bool { return v != nil })
	if i < 0 {
		return nil
	}
	return vs[i]
}
