package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/callctl"
	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/directory"
	"github.com/switchboard-pbx/switchboard/internal/numbering"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/routing"
	"github.com/switchboard-pbx/switchboard/internal/signaling"
	"github.com/switchboard-pbx/switchboard/internal/trunk"
)

// ViaCallingPlan is the Via of calls that leave through the operator's
// carriers (CDR, route test).
const ViaCallingPlan = "callingPlan"

// callingPlan wires the operator's Calling Plan (internal/numbering) into
// the node: mixed routing after Direct Routing, the carriers as trunks
// (hunting, health, OPTIONS, inbound by number), settlement from CDRs.
//
// Hooks elsewhere, each one line: live.cp and RouteCall/Explain
// (router.go), peers.cp in BySource/Gateway and carriers in gateways()
// (router.go), users on reload and the prober's Forget (app.go), Settle in
// cdrSink.Record and the API option (adapters.go).
type callingPlan struct {
	svc    *numbering.Service
	health *trunk.Health
	log    *slog.Logger
	dir    func() *directory.Directory
	users  atomic.Pointer[map[string][]pbx.User] // tenant → licensed users
	view   atomic.Pointer[carrierView]           // swapped whole by a reload (reload.go)
}

// carrierView is the carriers as signaling and the prober see them.
type carrierView struct {
	carriers map[string]numbering.Carrier // by key ("carrier/<name>")
	bySrc    map[string]string            // "ip:port" and "ip" → carrier key
}

// newCallingPlan builds the Calling Plan of cfg over st and loads its state
// (settling reservations left by a crash); nil cfg means none (nil).
func newCallingPlan(ctx context.Context, cfg *config.CallingPlan, st numbering.Store, dir func() *directory.Directory,
	health *trunk.Health, log *slog.Logger) (*callingPlan, error) {
	if cfg == nil {
		return nil, nil
	}
	nc, problems := cfg.Numbering()
	if len(problems) > 0 {
		return nil, fmt.Errorf("callingPlan.%s: %s", problems[0].Path, problems[0].Message)
	}
	cp := &callingPlan{health: health, log: log, dir: dir}
	empty := map[string][]pbx.User{}
	cp.users.Store(&empty)
	svc, err := numbering.New(nc, numbering.Deps{Store: st, Users: cp.licensed, Log: log})
	if err != nil {
		return nil, err
	}
	if err := svc.Load(ctx); err != nil {
		return nil, err
	}
	cp.svc = svc
	cp.view.Store(newCarrierView(ctx, svc.Carriers(), log))
	if nc.Minute != 0 && nc.Minute != time.Minute {
		log.Warn("calling plan: a billed minute is not 60 s (testMinuteSeconds): for tests only", "minute", nc.Minute)
	}
	log.Info("calling plan ready", "countries", strings.Join(nc.Countries, ","), "carriers", len(svc.Carriers()),
		"ranges", len(nc.Inventory))
	return cp, nil
}

// newCarrierView indexes carriers by key and by source address (a host
// name is resolved now).
func newCarrierView(ctx context.Context, carriers []numbering.Carrier, log *slog.Logger) *carrierView {
	v := &carrierView{carriers: map[string]numbering.Carrier{}, bySrc: map[string]string{}}
	for _, c := range carriers {
		v.carriers[c.Key()] = c
		host, port, _ := net.SplitHostPort(c.Address)
		ips := []string{host}
		if net.ParseIP(host) == nil {
			var err error
			if ips, err = net.DefaultResolver.LookupHost(ctx, host); err != nil {
				log.Warn("calling plan: carrier address does not resolve; its calls in are not recognised",
					"carrier", c.Name, "err", err)
			}
		}
		for _, ip := range ips {
			v.bySrc[net.JoinHostPort(ip, port)] = c.Key()
			if _, taken := v.bySrc[ip]; !taken {
				v.bySrc[ip] = c.Key()
			}
		}
	}
	return v
}

// setUsers publishes the users whose licences size the pools (reload).
func (cp *callingPlan) setUsers(users []pbx.User) {
	if cp == nil {
		return
	}
	m := map[string][]pbx.User{}
	for _, u := range users {
		if u.CallingPlan != "" {
			u.Credentials = nil
			m[u.Tenant] = append(m[u.Tenant], u)
		}
	}
	cp.users.Store(&m)
}

func (cp *callingPlan) licensed(tenant string) []pbx.User { return (*cp.users.Load())[tenant] }

// RouteCall implements callctl.CallRouter: Direct Routing first, then the
// Calling Plan for what it does not take (mixed routing, PRODUCT.md §3.5).
func (l *live) RouteCall(callID string, caller *pbx.User, dialed string) callctl.Route {
	c := l.load()
	tr, ok := c.tenants[caller.Tenant]
	if !ok {
		return callctl.Route{Kind: callctl.KindRejected, Code: 404, Reason: "Not Found"}
	}
	dialed = dialedString(dialed)
	d := tr.table.Route(routingCaller(caller), dialed, l.statusFunc(tr))
	r, ok := l.cp.route(callID, caller, tr.allowed, dialed, d)
	if !ok {
		r = l.toCallctl(c, tr, caller, d)
	}
	return l.vel.check(caller, tr.deny(r))
}

// takes says whether the Calling Plan takes a call Direct Routing decided
// d about, and with which number and as an emergency call or not: a
// licensed user's call that no voice route matched (or that has no voice
// routing policy), and any emergency call Direct Routing cannot place.
func (cp *callingPlan) takes(caller *pbx.User, dialed string, d routing.Decision) (number string, emergency, ok bool) {
	if cp == nil || d.Target != routing.TargetRejected {
		return "", false, false
	}
	stripped := routing.StripSeparators(routing.TrimScheme(dialed))
	if d.Emergency || numbering.IsEmergency(stripped, caller.UsageLocation) {
		if caller.CallingPlan == "" && !d.Emergency {
			return "", false, false
		}
		return stripped, true, true
	}
	if caller.CallingPlan == "" {
		return "", false, false
	}
	switch d.Cause {
	case routing.CauseNoRoute, routing.CauseNoVoiceRoutingPolicy:
		return d.Normalized, false, true
	}
	return "", false, false
}

// route decides a call that Direct Routing rejected with d.
func (cp *callingPlan) route(callID string, caller *pbx.User, allowed numbering.Allowed, dialed string, d routing.Decision) (callctl.Route, bool) {
	number, emergency, ok := cp.takes(caller, dialed, d)
	if !ok {
		return callctl.Route{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dec := cp.svc.Admit(ctx, numbering.Call{CallID: callID, Caller: *caller, Number: number, Emergency: emergency,
		Allowed: allowed})
	if !dec.Admitted {
		cp.log.Info("calling plan refuses a call", "call_id", callID, "tenant", caller.Tenant, "user", caller.SIPAddress,
			"number", number, "status", dec.Code, "reason", dec.Reason)
		return callctl.Route{Kind: callctl.KindRejected, Code: dec.Code, Reason: dec.Reason}, true
	}
	r := callctl.Route{Kind: callctl.KindPSTN, Number: number, Via: ViaCallingPlan, Gateways: cp.targets(dec, caller, number)}
	if emergency {
		r.Kind = callctl.KindEmergency
	}
	if dec.Meter != nil {
		r.Grant = dec.Meter.Grant
	}
	return r, true
}

// targets are the carriers of a decision in hunt order: Active before
// Demoted (tried last, never skipped), each by priority.
func (cp *callingPlan) targets(dec numbering.Decision, caller *pbx.User, number string) []callctl.TrunkTarget {
	var active, demoted []callctl.TrunkTarget
	for _, c := range dec.Carriers {
		host, port, _ := net.SplitHostPort(c.Address)
		p, _ := strconv.Atoi(port)
		t := callctl.TrunkTarget{Key: c.Key(), FQDN: host, Port: p, Address: c.Address, Transport: c.Transport,
			Called: number, Calling: caller.Number(), FailoverTime: 10 * time.Second}
		if cp.health.Status(carrierHealth(c)) == trunk.Demoted {
			demoted = append(demoted, t)
		} else {
			active = append(active, t)
		}
	}
	return append(active, demoted...)
}

func carrierHealth(c numbering.Carrier) trunk.Gateway {
	return trunk.Gateway{Key: c.Key(), Enabled: true, SendOptions: true}
}

// explain adds the Calling Plan's part to a route test.
func (cp *callingPlan) explain(caller *pbx.User, allowed numbering.Allowed, dialed string, d routing.Decision) routing.Decision {
	number, emergency, ok := cp.takes(caller, dialedString(dialed), d)
	if !ok {
		if cp != nil && caller.CallingPlan != "" && d.Target == routing.TargetPSTN {
			d.Steps = append(d.Steps, "a voice route matches: Direct Routing takes the call, not the Calling Plan")
		}
		return d
	}
	dec := cp.svc.Explain(numbering.Call{Caller: *caller, Number: number, Emergency: emergency, Allowed: allowed})
	if d.Reason != "" {
		d.Steps = append(d.Steps, "Direct Routing does not take it ("+d.Reason+"): the Calling Plan decides")
	}
	d.Steps = append(d.Steps, dec.Steps...)
	if !dec.Admitted {
		d.Cause, d.Reason = routing.Cause(ViaCallingPlan), fmt.Sprintf("%d %s", dec.Code, dec.Reason)
		return d
	}
	d.Target, d.Via, d.Cause, d.Reason, d.Usage, d.Normalized = routing.TargetPSTN, ViaCallingPlan, "", "", "", number
	if emergency {
		d.Target, d.Emergency = routing.TargetEmergency, true
	}
	rc := routing.RouteChoice{Name: ViaCallingPlan, Gateways: []string{}, Status: []routing.Status{}}
	for _, t := range cp.targets(dec, caller, number) {
		rc.Gateways = append(rc.Gateways, t.Key)
		rc.Status = append(rc.Status, routing.Status(cp.health.Status(carrierHealth(cp.view.Load().carriers[t.Key]))))
	}
	d.Routes = []routing.RouteChoice{rc}
	return d
}

// settle ends the reservation of a finished call (cdrSink.Record).
func (cp *callingPlan) settle(c pbx.CDR) {
	if cp == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cp.svc.Settle(ctx, numbering.CallEnd{CallID: c.CallID, Tenant: c.Tenant, Caller: c.Caller, Answered: c.Answer != nil,
		Duration: time.Duration(c.Duration) * time.Second})
}

// gateways lists the carriers for the OPTIONS prober.
func (cp *callingPlan) gateways() []trunk.Gateway {
	if cp == nil {
		return nil
	}
	v := cp.view.Load()
	out := make([]trunk.Gateway, 0, len(v.carriers))
	for _, c := range v.carriers {
		out = append(out, carrierHealth(c))
	}
	return out
}

// known says whether key is a carrier's (health keeps their state across
// reloads of the tenants' configuration).
func (cp *callingPlan) known(key string) bool {
	if cp == nil {
		return false
	}
	_, ok := cp.view.Load().carriers[key]
	return ok
}

// peer is the signaling view of a carrier: calls from it go to the tenant
// and user the called number is assigned to.
func (cp *callingPlan) peer(key string) (signaling.Gateway, bool) {
	if cp == nil {
		return signaling.Gateway{}, false
	}
	c, ok := cp.view.Load().carriers[key]
	if !ok {
		return signaling.Gateway{}, false
	}
	host, _, _ := net.SplitHostPort(c.Address)
	return signaling.Gateway{Key: key, FQDN: host, Address: c.Address, Transport: c.Transport, Resolve: cp.inbound}, true
}

// bySource finds the carrier a request came from: its address, else its IP.
func (cp *callingPlan) bySource(ip string, port int) (signaling.Gateway, bool) {
	if cp == nil {
		return signaling.Gateway{}, false
	}
	v := cp.view.Load()
	key, ok := v.bySrc[net.JoinHostPort(ip, strconv.Itoa(port))]
	if !ok {
		key, ok = v.bySrc[ip]
	}
	if !ok {
		return signaling.Gateway{}, false
	}
	return cp.peer(key)
}

// inbound resolves a call from a carrier by the number inventory: the
// tenant the number is assigned in, and the number as target.
func (cp *callingPlan) inbound(called string) (tenant, target, host string, ok bool) {
	num := called
	if !strings.HasPrefix(num, "+") {
		num = "+" + num
	}
	tenant, user, ok := cp.svc.Inbound(num)
	if !ok {
		cp.log.Info("calling plan: call from a carrier to a number assigned to no one", "number", num,
			"in_inventory", cp.svc.InInventory(num))
		return "", "", "", false
	}
	if t, found := cp.dir().Tenant(tenant); found && len(t.Domains) > 0 {
		host = t.Domains[0]
	}
	// Delivered by number (the user's lineUri, which assigning the number
	// set): the inventory says which tenant, the tenant's directory who.
	cp.log.Debug("calling plan: call from a carrier", "number", num, "tenant", tenant, "user", user)
	return tenant, num, host, true
}
