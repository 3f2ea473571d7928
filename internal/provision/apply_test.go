package provision

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func voiceDoc() Document {
	return Document{
		Tenant:       "contoso",
		Domains:      []string{"contoso.com"},
		PSTNUsages:   []string{"Local", "Intl"},
		PSTNGateways: []Gateway{{FQDN: "sbc1.contoso.com", Enabled: true}},
		VoiceRoutes: []VoiceRoute{
			{Name: "us", NumberPattern: `^\+1(?!(900|976))\d{10}$`, Priority: 1,
				OnlinePSTNGatewayList: []string{"sbc1.contoso.com"}, OnlinePSTNUsages: []string{"Local"}},
			{Name: "intl", NumberPattern: `^\+\d+$`, Priority: 2,
				OnlinePSTNGatewayList: []string{"sbc1.contoso.com"}, OnlinePSTNUsages: []string{"Intl"}},
		},
		VoiceRoutingPolicies: []VoiceRoutingPolicy{{Name: "Global", OnlinePSTNUsages: []string{"Local", "Intl"}}},
		Users:                []UserSpec{{SIPAddress: "alice@contoso.com", Password: "alice-secret", VoiceRoutingPolicy: "Global"}},
	}
}

func TestApplyPruneAndKindsLeftAlone(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := NewService(st, nil)
	if _, err := s.Apply(ctx, voiceDoc()); err != nil {
		t.Fatal(err)
	}
	// A document with one route: without prune nothing is deleted.
	one := Document{Tenant: "contoso", VoiceRoutes: voiceDoc().VoiceRoutes[:1]}
	res, err := s.Apply(ctx, one)
	if err != nil || res.Changed {
		t.Fatalf("Apply(one route) = %+v, %v; want unchanged", res, err)
	}
	// With prune, the other route goes; gateways, policies, users stay.
	res, err = s.ApplyWith(ctx, one, Options{Prune: true, DryRun: true})
	want := []Change{{Action: ActionDelete, Kind: "voiceRoutes", Name: "intl"}}
	if err != nil || !sameChanges(res.Changes, want) || !res.DryRun {
		t.Fatalf("dry run prune = %+v, %v", res, err)
	}
	if st.applies != 1 {
		t.Error("dry run wrote")
	}
	if res, err = s.ApplyWith(ctx, one, Options{Prune: true, Actor: Actor{ID: "t1", Name: "ci"}}); err != nil || !sameChanges(res.Changes, want) {
		t.Fatalf("prune = %+v, %v", res, err)
	}
	doc, err := s.Tenant(ctx, "contoso")
	if err != nil || len(doc.VoiceRoutes) != 1 || len(doc.PSTNGateways) != 1 || len(doc.Users) != 1 {
		t.Fatalf("after prune: %+v, %v", doc, err)
	}
	if last := st.audit[len(st.audit)-1]; last.ActorID != "t1" || last.Action != ActionDelete || last.After != nil || last.Before == nil {
		t.Errorf("audit entry = %+v", last)
	}
	// Pruning the usages a stored policy uses is refused, naming it.
	_, err = s.ApplyWith(ctx, Document{Tenant: "contoso", PSTNUsages: []string{"Local"}}, Options{Prune: true})
	var verrs ValidationErrors
	wantErr := ValidationErrors{{Field: `voiceRoutingPolicies["Global"].onlinePstnUsages[1]`, Message: `usage "Intl" does not exist`}}
	if !errors.As(err, &verrs) || !reflect.DeepEqual(verrs, wantErr) {
		t.Errorf("prune used usage: %v, want %v", err, wantErr)
	}
}

func TestDeleteAndSnapshot(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := NewService(st, nil)
	if _, err := s.Apply(ctx, voiceDoc()); err != nil {
		t.Fatal(err)
	}
	k, _ := KindByName("gateways")
	if _, err := s.Delete(ctx, "contoso", k, "sbc1.contoso.com", Options{}); err == nil {
		t.Error("deleted a gateway routes use")
	}
	if _, err := s.Delete(ctx, "contoso", k, "nope.contoso.com", Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing = %v", err)
	}
	if _, err := s.Delete(ctx, "ghost", k, "x", Options{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete in missing tenant = %v", err)
	}
	r, _ := KindByName("route")
	if res, err := s.Delete(ctx, "contoso", r, "intl", Options{}); err != nil || len(res.Changes) != 1 {
		t.Fatalf("delete route = %+v, %v", res, err)
	}
	docs, err := Snapshot(ctx, st)
	if err != nil || len(docs) != 1 || len(docs[0].VoiceRoutes) != 1 || docs[0].PSTNGateways[0].Transport != "tls" ||
		docs[0].PSTNGateways[0].SIPSignalingPort != DefaultTLSPort || !*docs[0].PSTNGateways[0].SendSIPOptions ||
		!reflect.DeepEqual(docs[0].PSTNGateways[0].FailoverResponseCodes, []int{408, 503, 504}) {
		t.Fatalf("Snapshot = %+v, %v", docs, err)
	}
	if _, err := s.DeleteTenant(ctx, "contoso", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tenant(ctx, "contoso"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted tenant: %v", err)
	}
}

func TestPatternDialects(t *testing.T) {
	for p, groups := range map[string]int{`^(\d{4})$`: 1, `^\+1(?!(900|976))\d{10}$`: 1, `^(?<x>\d)(\d)$`: 2} {
		if n, err := PatternGroups(p); err != nil || n != groups {
			t.Errorf("PatternGroups(%q) = %d, %v; want %d", p, n, err, groups)
		}
	}
	if _, err := PatternGroups(`^(\d+$`); err == nil {
		t.Error("unbalanced pattern compiled")
	}
}

func sameChanges(got, want []Change) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].Action != want[i].Action || got[i].Kind != want[i].Kind || got[i].Name != want[i].Name {
			return false
		}
	}
	return true
}
