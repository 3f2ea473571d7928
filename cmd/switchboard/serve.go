package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchboard-pbx/switchboard/internal/app"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/obs"
)

// logFlush is how long a log line may wait to be written with others.
const logFlush = 50 * time.Millisecond

func newServeCmd(d deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a Switchboard node",
		Long: `Run a Switchboard node until SIGINT or SIGTERM: SIP on UDP and TCP, the RTP
relay, and the admin API with the web console.

SIGHUP (or "switchboard reload") reads the --config file again: its
callingPlan section is applied live when the whole file is valid (nothing
changes otherwise); other keys that changed are logged as needing a restart.

Settings come from, in increasing precedence: built-in defaults, the YAML
file given with --config (keys are the flag names in lowerCamelCase: sip,
http, data, rtpPorts, adminToken, mediaIp, logLevel), the environment
(SWITCHBOARD_ADMIN_TOKEN), and flags given on the command line. Unknown keys
and invalid values are reported with their file and line, and the node does
not start (exit status 2).`,
		Example: `  # all defaults: SQLite in ./switchboard-data, SIP on 0.0.0.0:5060, API on 127.0.0.1:8080
  switchboard serve

  # a config file, with the log level overridden
  switchboard serve --config /etc/switchboard/node.yaml --log-level debug

  # an edge node behind NAT
  SWITCHBOARD_ADMIN_TOKEN=s3cret switchboard serve --sip 10.0.0.5:5060 --media-ip 203.0.113.7 --rtp-ports 30000-30999`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error {
			cfg, err := serveConfig(cmd.Flags(), d.getenv)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			// The log's lines are written in batches (obs.LineBuffer), at
			// most logFlush after they are logged.
			logOut := obs.NewLineBuffer(cmd.ErrOrStderr(), logFlush)
			defer logOut.Close()
			log, err := obs.NewLogger(logOut, cfg.LogLevel)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// SIGHUP never ends the node: it reloads --config, or says
			// there is none.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			o := app.Options{Hangup: hup}
			if path, _ := cmd.Flags().GetString("config"); path != "" {
				o.File, o.Reread = path, func() (config.Config, error) {
					return readConfig(cmd.Flags(), d.getenv)
				}
			}
			return d.runNode(ctx, cfg, log, o)
		}),
	}
	def := config.Default()
	f := cmd.Flags()
	f.String("config", "", "YAML config `FILE`")
	f.String("sip", def.SIP, "SIP listen address (UDP and TCP), `HOST:PORT`")
	f.String("http", def.HTTP, "admin API and web console listen address, `HOST:PORT`")
	f.String("data", def.Data, "data `DIR` (embedded SQLite database)")
	f.String("rtp-ports", def.RTPPorts, "RTP relay port range, `LOW-HIGH` (LOW even)")
	f.String("admin-token", "", "operator API token (prefer $"+config.EnvAdminToken+"; generated when empty)")
	f.String("media-ip", "", "`IP` written into SDP for relayed media (default: the SIP host, or the first non-loopback address)")
	f.String("sip-tls", "", "SIP over TLS listen address for SBC trunks, `HOST:PORT` (off when empty)")
	f.String("tls-cert", "", "PEM certificate `FILE` of this node (server and client: mutual TLS)")
	f.String("tls-key", "", "PEM private key `FILE` of --tls-cert")
	f.String("tls-ca", "", "PEM CA bundle `FILE` that SBC certificates must chain to (default: system roots)")
	f.String("fqdn", "", "this node's `FQDN`, written into Contact on TLS trunks")
	f.String("options-interval", "", "OPTIONS ping period to gateways, e.g. 60s (min 1s)")
	f.String("health-window", "", "a gateway is Active when it exchanged OPTIONS within this, e.g. 180s")
	f.String("ban-after", "", "failed digest challenges per user and source IP within 60s before a 300s ban (default 5, -1 off)")
	f.String("flood-limit", "", "messages per source IP within 2s before a 300s ban (default off)")
	f.String("max-user-pstn-calls", "", "simultaneous outbound PSTN calls per user (default 2, 0 unlimited; emergency exempt)")
	f.String("intl-calls-per-hour", "", "international PSTN calls per tenant per hour (default 100, 0 unlimited; emergency exempt)")
	f.String("digest-algorithms", "", "digest challenges offered, in order, comma separated: MD5, SHA-256 (default \"MD5,SHA-256\")")
	f.String("session-expires", "", "RFC 4028 session interval in seconds asked and accepted on call legs (default 1800)")
	f.String("min-se", "", "smallest session interval accepted, seconds (default 90; less gets 422)")
	f.String("rtp-timeout", "", "release a relayed call with no RTP for this long, e.g. 60s (default 60s, 0 off)")
	f.String("rtp-hold-timeout", "", "the RTP timeout of a call on hold, e.g. 1h (default 1h, 0 off)")
	f.String("trusted", "", "source `ADDRS` (IPs or CIDRs, comma separated) never limited nor banned")
	f.String("log-level", def.LogLevel, "log `LEVEL`: "+strings.Join(config.LogLevels(), ", "))
	return cmd
}

// serveConfig builds the node's configuration from serve's flags: defaults,
// then the --config file, then the environment, then the flags the user
// set, and validates the result.
func serveConfig(fs *pflag.FlagSet, getenv func(string) string) (config.Config, error) {
	cfg, err := readConfig(fs, getenv)
	if err != nil {
		return config.Config{}, invalidConfig(err)
	}
	return cfg, nil
}

// readConfig is serveConfig's work, also done again by a reload: its
// errors are the problems, one a line.
func readConfig(fs *pflag.FlagSet, getenv func(string) string) (config.Config, error) {
	cfg := config.Default()
	if path, _ := fs.GetString("config"); path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return config.Config{}, err
		}
	}
	cfg.ApplyEnv(getenv)
	applyFlags(&cfg, fs)
	if err := cfg.Validate(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// applyFlags copies into cfg the flags the user actually set; a flag left
// at its default does not override the file or the environment.
func applyFlags(cfg *config.Config, fs *pflag.FlagSet) {
	for name, dst := range map[string]*string{
		"sip":                 &cfg.SIP,
		"http":                &cfg.HTTP,
		"data":                &cfg.Data,
		"rtp-ports":           &cfg.RTPPorts,
		"admin-token":         &cfg.AdminToken,
		"media-ip":            &cfg.MediaIP,
		"log-level":           &cfg.LogLevel,
		"sip-tls":             &cfg.SIPTLS,
		"tls-cert":            &cfg.TLSCert,
		"tls-key":             &cfg.TLSKey,
		"tls-ca":              &cfg.TLSCA,
		"fqdn":                &cfg.FQDN,
		"options-interval":    &cfg.OptionsInterval,
		"health-window":       &cfg.HealthWindow,
		"ban-after":           &cfg.BanAfter,
		"flood-limit":         &cfg.FloodLimit,
		"trusted":             &cfg.Trusted,
		"max-user-pstn-calls": &cfg.MaxUserPSTNCalls,
		"intl-calls-per-hour": &cfg.IntlCallsPerHour,
		"digest-algorithms":   &cfg.DigestAlgorithms,
		"session-expires":     &cfg.SessionExpires,
		"min-se":              &cfg.MinSE,
		"rtp-timeout":         &cfg.RTPTimeout,
		"rtp-hold-timeout":    &cfg.RTPHoldTimeout,
	} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			*dst = f.Value.String()
		}
	}
}

func invalidConfig(err error) error {
	return fmt.Errorf("invalid configuration\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
}
