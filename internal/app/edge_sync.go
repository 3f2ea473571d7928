package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/config"
	"github.com/switchboard-pbx/switchboard/internal/hybrid"
	"github.com/switchboard-pbx/switchboard/internal/pbx"
	"github.com/switchboard-pbx/switchboard/internal/store"
)

// Timing of an edge's work with its cloud. Loss is detected within
// hybrid.LossAfter plus one evaluation: well inside PRODUCT.md's 10 s.
const (
	syncEvery     = time.Second            // configuration poll (If-None-Match)
	probeEvery    = 2 * time.Second        // OPTIONS on the trunk
	evaluateEvery = 500 * time.Millisecond // mode decision
	uploadEvery   = 2 * time.Second        // CDR queue, when nothing wakes it
	syncTimeout   = 3 * time.Second        // one HTTP exchange with the cloud
	uploadBatch   = 200
	maxSnapshot   = 256 << 20 // bytes of one snapshot
	metaVersion   = "hybrid_config_version"
)

// runEdge runs the edge's loops until ctx ends: they only talk to the
// cloud and the local store, never on the call path.
func (h *hybridNode) runEdge(ctx context.Context) {
	if !h.isEdge() {
		return
	}
	if v, err := h.n.st.Meta(ctx, metaVersion); err == nil {
		h.mu.Lock()
		h.version = v
		h.mu.Unlock()
	}
	h.n.log.Info("edge node: syncing with the cloud", "cloud_api", h.cloud.API, "cloud_sip", h.cloud.SIP,
		"trunk", h.cloud.TrunkTransport(), "tenant", h.cloud.Tenant, "edge", h.self)
	if ip := net.ParseIP(hostOfAddr(parseNodeAddr(h.cloud.SIP).addr)); h.cloud.TrunkTransport() == config.TrunkUDP && (ip == nil || !ip.IsLoopback()) {
		h.n.log.Warn("edge node: the trunk to the cloud is plain udp, identified by address: meant for loopback labs; "+
			"use cloud.transport: tls (mutual TLS) in production", "cloud_sip", h.cloud.SIP)
	}
	var wg sync.WaitGroup
	loops := []struct {
		every time.Duration
		wake  <-chan struct{}
		fn    func(context.Context)
	}{
		{syncEvery, nil, h.syncOnce},
		{probeEvery, nil, h.probeOnce},
		{evaluateEvery, nil, h.evaluate},
		{uploadEvery, h.wake, h.upload},
	}
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(l.every)
			defer t.Stop()
			for {
				l.fn(ctx)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				case <-l.wake:
				}
			}
		}()
	}
	wg.Wait()
}

// contact records an exchange with the cloud; once connected the phones
// of cloud users that fell back to this edge go home, and after an outage
// the CDRs made meanwhile are uploaded at once.
func (h *hybridNode) contact(ctx context.Context) {
	changed, was := h.mon.Contact(h.now())
	if !changed {
		return
	}
	h.n.log.Info("edge: connected to the cloud", "was", was)
	h.m.setMode(hybrid.ModeConnected)
	// Fallback registrations (kept across a restart too) go home.
	h.afterReload(ctx)
	if was == hybrid.ModeSurvivable {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// evaluate switches to survivable once the cloud has been silent too long.
func (h *hybridNode) evaluate(context.Context) {
	if mode, changed := h.mon.Evaluate(h.now()); changed {
		h.n.log.Warn("edge: the cloud is unreachable; running survivable", "mode", mode,
			"last_contact", h.mon.LastContact().UTC().Format(time.RFC3339))
		h.m.setMode(mode)
	}
}

func (h *hybridNode) probeOnce(ctx context.Context) {
	if h.n.sip == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, probeEvery)
	defer cancel()
	if err := h.n.sip.ProbePeer(pctx, parseNodeAddr(h.cloud.SIP).addr, h.cloud.TrunkTransport()); err == nil {
		h.contact(ctx)
	}
}

// cloudURL is an API path on the cloud.
func (h *hybridNode) cloudURL(path string) string {
	return strings.TrimRight(h.cloud.API, "/") + "/api/v1/tenants/" + url.PathEscape(h.cloud.Tenant) +
		"/edges/" + url.PathEscape(h.self) + path
}

func (h *hybridNode) cloudRequest(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.cloudURL(path), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.cloud.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "switchboard-edge")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return h.httpc.Do(req)
}

// syncOnce polls the cloud for the tenant's configuration and applies a
// new one to the local store, then reloads: the call path keeps reading
// the compiled copy and never waits for the cloud.
func (h *hybridNode) syncOnce(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	h.mu.Lock()
	version := h.version
	h.mu.Unlock()
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, h.cloudURL("/sync"), nil)
	if err != nil {
		h.m.sync("error")
		return
	}
	req.Header.Set("Authorization", "Bearer "+h.cloud.Token)
	req.Header.Set("User-Agent", "switchboard-edge")
	if version != "" {
		req.Header.Set("If-None-Match", version)
	}
	resp, err := h.httpc.Do(req)
	if err != nil {
		h.m.sync("unreachable")
		return
	}
	defer func() { _, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); _ = resp.Body.Close() }()
	switch resp.StatusCode {
	case http.StatusNotModified:
		h.synced(ctx, version)
		h.m.sync("unchanged")
		return
	case http.StatusOK:
	default:
		h.m.sync("refused")
		h.mu.Lock()
		repeat := h.refusal == resp.Status
		h.refusal = resp.Status
		h.mu.Unlock()
		if !repeat { // once per kind of refusal, not every second
			h.n.log.Warn("edge: the cloud refused the sync (check cloud.token, cloud.tenant, cloud.edge)",
				"status", resp.Status)
		}
		return
	}
	h.mu.Lock()
	h.refusal = ""
	h.mu.Unlock()
	var snap hybrid.Snapshot
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxSnapshot)).Decode(&snap); err != nil {
		h.m.sync("error")
		h.n.log.Warn("edge: bad snapshot from the cloud", "err", err)
		return
	}
	if err := h.apply(ctx, snap, resp.Header.Get("ETag")); err != nil {
		h.m.sync("error")
		h.n.log.Error("edge: apply the cloud's configuration", "err", err)
		return
	}
	h.m.sync("applied")
}

// apply stores a snapshot and reloads.
func (h *hybridNode) apply(ctx context.Context, snap hybrid.Snapshot, etag string) error {
	if msg := snap.Check(h.cloud.Tenant); msg != "" {
		return errors.New(msg)
	}
	if etag == "" {
		var err error
		if _, etag, err = snap.Encode(); err != nil {
			return err
		}
	}
	if err := h.n.st.SaveTenant(ctx, snap.Tenant, snap.StoreUsers(), snap.Objects, nil); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := h.n.st.SetMeta(ctx, metaVersion, etag); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := h.n.reload(ctx); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	h.n.log.Info("edge: configuration from the cloud applied", "version", etag, "users", len(snap.Users),
		"objects", len(snap.Objects))
	h.synced(ctx, etag)
	return nil
}

func (h *hybridNode) synced(ctx context.Context, version string) {
	h.mu.Lock()
	h.syncedAt = h.now()
	h.version = version
	h.mu.Unlock()
	h.contact(ctx)
}

// upload sends the queued CDRs to the cloud while connected; the cloud
// stores each Call-ID once, so a batch resent after a lost answer adds
// nothing.
func (h *hybridNode) upload(ctx context.Context) {
	if h.hs == nil || h.mon.Mode() != hybrid.ModeConnected {
		return
	}
	for range 50 { // bounded: at most 10,000 CDRs per round
		q, err := h.hs.QueuedCDRs(ctx, uploadBatch)
		if err != nil || len(q) == 0 {
			return
		}
		if !h.uploadBatch(ctx, q) {
			return
		}
	}
}

func (h *hybridNode) uploadBatch(ctx context.Context, q []store.QueuedCDR) bool {
	batch := hybrid.CDRBatch{CDRs: make([]pbx.CDR, 0, len(q))}
	seqs := make([]int64, len(q))
	for i, c := range q {
		batch.CDRs = append(batch.CDRs, c.CDR)
		seqs[i] = c.Seq
	}
	body, err := json.Marshal(batch)
	if err != nil {
		return false
	}
	uctx, cancel := context.WithTimeout(ctx, 2*syncTimeout)
	defer cancel()
	resp, err := h.cloudRequest(uctx, http.MethodPost, "/cdrs", body)
	if err != nil {
		return false
	}
	var res hybrid.UploadResult
	err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		h.n.log.Warn("edge: the cloud refused the CDR upload", "status", resp.Status, "err", err)
		return false
	}
	if err := h.hs.DeleteQueuedCDRs(ctx, seqs); err != nil {
		h.n.log.Error("edge: forget uploaded cdrs", "err", err)
		return false
	}
	h.n.log.Info("edge: cdrs uploaded to the cloud", "sent", len(q), "new", res.Inserted)
	h.m.uploaded(len(q))
	return true
}
