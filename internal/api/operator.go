package api

import (
	"fmt"
	"net/http"
)

// ReloadResult is the answer of POST /api/v1/operator/reload: the server
// configuration file was read again and its hot-reloadable part (the
// operator's Calling Plan) applied.
type ReloadResult struct {
	File string `json:"file"`
	// Changes are what the reload changed ("carrier carrier-c added").
	Changes []string `json:"changes"`
	// NeedsRestart lists the keys whose new value was not applied: they only
	// take effect after a restart (sip, http, logLevel, ...).
	NeedsRestart []string `json:"needsRestart"`
}

// ConfigError is a server configuration file a reload refused; nothing
// changed. Each line is "FILE:LINE: key: what is wrong".
type ConfigError struct {
	Lines []string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("the configuration has %d problem(s); nothing changed", len(e.Lines))
}

// operatorRoutes are the routes of the node's operator, appended to routes().
func (s *server) operatorRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/operator/reload", summary: "Read the server configuration file again and apply its callingPlan section live (operator only); 422 with FILE:LINE problems changes nothing; keys that need a restart are listed",
			handler: s.reloadConfig, operatorOnly: true, response: typeOf[ReloadResult](), ok: http.StatusOK},
	}
}

func (s *server) reloadConfig(w http.ResponseWriter, r *http.Request) {
	if s.o.Reload == nil {
		s.fail(w, r, errNotImplemented)
		return
	}
	res, err := s.o.Reload(r.Context(), who(r).actor().Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Changes == nil {
		res.Changes = []string{}
	}
	if res.NeedsRestart == nil {
		res.NeedsRestart = []string{}
	}
	writeJSON(w, http.StatusOK, res)
}
