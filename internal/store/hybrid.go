package store

import (
	"context"

	"github.com/switchboard-pbx/switchboard/internal/pbx"
)

// Hybrid is what the cloud–edge deployment persists (issue 6) besides the
// tenant configuration: edge-scoped tokens on the cloud, and on an edge the
// queue of CDRs the cloud has not received yet. The SQLite store implements
// it; the composition root finds it with a type assertion on Store.
type Hybrid interface {
	// CreateEdgeToken stores a tenant token that belongs to an edge of its
	// tenant, atomically with its edge scope.
	CreateEdgeToken(ctx context.Context, t Token, edge string) error
	// TokenEdge returns the edge a token belongs to, "" for other tokens.
	TokenEdge(ctx context.Context, tokenID string) (string, error)

	// QueueCDR adds a CDR to the upload queue.
	QueueCDR(ctx context.Context, c pbx.CDR) error
	// QueuedCDRs returns up to limit queued CDRs, oldest first.
	QueuedCDRs(ctx context.Context, limit int) ([]QueuedCDR, error)
	// DeleteQueuedCDRs removes queued CDRs by sequence number.
	DeleteQueuedCDRs(ctx context.Context, seqs []int64) error
	// CountQueuedCDRs is the length of the queue.
	CountQueuedCDRs(ctx context.Context) (int, error)

	// HasCDR says whether the tenant has a CDR with that Call-ID (uploads
	// are idempotent: the uploader checks before InsertCDR).
	HasCDR(ctx context.Context, tenant, callID string) (bool, error)
}

// QueuedCDR is one CDR waiting for upload, with its place in the queue.
type QueuedCDR struct {
	Seq int64
	CDR pbx.CDR
}
