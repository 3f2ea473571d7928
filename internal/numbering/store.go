package numbering

import (
	"context"
	"errors"
	"time"
)

// Errors of the inventory and the accounts, wrapped with the details; the
// adapters turn them into HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid")
)

// Store is the persistence port of the Calling Plan. Every method is one
// transaction. store.Store (sqlite) implements it.
type Store interface {
	// CPNumbers lists every number that is acquired or quarantined.
	CPNumbers(ctx context.Context) ([]Number, error)
	// SaveCPNumbers writes numbers (insert or replace), all or none.
	SaveCPNumbers(ctx context.Context, ns []Number) error

	// CPState reads the accounts: balances, spend limits, usage totals and
	// the reservations of calls that were in progress.
	CPState(ctx context.Context) (State, error)
	// SaveReservation inserts or replaces a call's reservation.
	SaveReservation(ctx context.Context, r Reservation) error
	// DeleteReservation forgets a reservation that was never used.
	DeleteReservation(ctx context.Context, id string) error
	// Settle records a finished call's usage, debits its amount from the
	// tenant's balance and deletes its reservation, in one transaction. A
	// reservation settled before (same ID) changes nothing: no call is ever
	// debited twice.
	Settle(ctx context.Context, s Settlement) error
	// TopUp adds amount to a tenant's credit balance and returns the new
	// balance.
	TopUp(ctx context.Context, t TopUp) (Money, error)
	// SetSpendLimit sets a user's monthly credit spend limit; a negative
	// limit removes it.
	SetSpendLimit(ctx context.Context, l SpendLimit) error
}

// Number is one number of the inventory as a tenant and the operator see it.
type Number struct {
	Number   string `json:"number"`
	Country  string `json:"country"`
	AreaCode string `json:"areaCode,omitempty"`
	Type     string `json:"type"` // user | service
	// Status is available, acquired (by Tenant), assigned (to User) or
	// quarantined (released, until QuarantinedUntil).
	Status           string    `json:"status"`
	Tenant           string    `json:"tenant,omitempty"`
	User             string    `json:"user,omitempty"`
	Since            time.Time `json:"since,omitzero"` // acquired, assigned or released at
	QuarantinedUntil time.Time `json:"quarantinedUntil,omitzero"`
}

// Number statuses.
const (
	StatusAvailable   = "available"
	StatusAcquired    = "acquired"
	StatusAssigned    = "assigned"
	StatusQuarantined = "quarantined"
)

// State is the stored state of the accounts.
type State struct {
	Balances     map[string]Money // tenant → credit balance
	Limits       []SpendLimit
	Usage        []UsageTotal
	Reservations []Reservation
}

// SpendLimit is a user's monthly credit spend limit.
type SpendLimit struct {
	Tenant string `json:"tenant"`
	User   string `json:"user"`
	Limit  Money  `json:"monthlyLimit"`
}

// UsageTotal sums the settled calls of one user, month and funding.
type UsageTotal struct {
	Tenant, User, Month string
	Funding             string // pool | credits
	Country, Plan, Kind string // the pool (funding pool)
	Calls, Minutes      int
	Amount              Money // credits spent
}

// Fundings: what pays for a call.
const (
	FundingPool      = "pool"
	FundingCredits   = "credits"
	FundingEmergency = "emergency" // nothing: never metered
)

// Reservation is what a call in progress holds: one minute from admission,
// one more at the start of each further minute once answered.
type Reservation struct {
	ID       string    `json:"id"` // unique, chosen here (Call-IDs are chosen by callers)
	CallID   string    `json:"callId"`
	Tenant   string    `json:"tenant"`
	User     string    `json:"user"`
	Number   string    `json:"number"`
	Month    string    `json:"month"` // YYYY-MM (UTC) of admission: the month billed
	Funding  string    `json:"funding"`
	Country  string    `json:"country,omitempty"` // pool: usageLocation
	Plan     string    `json:"plan,omitempty"`    // pool: licence
	Kind     string    `json:"kind,omitempty"`    // pool: domestic | international
	Rate     Money     `json:"rate"`              // credits: per minute
	Minutes  int       `json:"minutes"`           // reserved so far
	Created  time.Time `json:"created"`
	Answered time.Time `json:"answered,omitzero"`
}

// Settlement is the end of a reservation.
type Settlement struct {
	Reservation Reservation
	Minutes     int   // debited (pool minutes or minutes paid by credits)
	Amount      Money // debited from the balance
	Settled     time.Time
	Recovered   bool // settled after a restart: the call's end was never seen
}

// TopUp is a credit top-up by the operator.
type TopUp struct {
	Tenant string
	Amount Money
	At     time.Time
	Actor  string
}
