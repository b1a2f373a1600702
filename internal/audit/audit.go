// Package audit appends to the audit log: who did what to which record, when
// and from which site. The table refuses updates and deletes (a trigger in the
// migrations), so what is written here stays.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Actor is who acts in a request; the HTTP layer puts it in the context.
type Actor struct {
	UserID         *int64
	OrganizationID *int64
	SiteID         *int64
	IP             string
	RequestID      string
}

type actorKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or a zero Actor (a system action).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Entry is one row of the audit log.
type Entry struct {
	ID             int64
	At             time.Time
	UserID         *int64
	OrganizationID *int64
	SiteID         *int64
	Action         string
	Entity         string
	EntityID       string
	IP             string
	RequestID      string
	Data           string
}

func (Entry) TableName() string { return "audit_log" }

// Record appends one entry in tx (so it commits or rolls back with the change
// it describes). data must not hold secrets: no passwords, tokens or PINs.
func Record(ctx context.Context, tx *gorm.DB, action, entity string, entityID int64, data map[string]any) error {
	a := ActorFrom(ctx)
	e := Entry{
		At:             time.Now().UTC().Truncate(time.Microsecond),
		UserID:         a.UserID,
		OrganizationID: a.OrganizationID,
		SiteID:         a.SiteID,
		Action:         action,
		Entity:         entity,
		IP:             a.IP,
		RequestID:      a.RequestID,
		Data:           "{}",
	}
	if entityID != 0 {
		e.EntityID = strconv.FormatInt(entityID, 10)
	}
	if len(data) > 0 {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("audit %s: %w", action, err)
		}
		e.Data = string(b)
	}
	if err := tx.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Statement returns the INSERT of one entry as SQL with ? placeholders and its
// arguments, for code that writes through a driver directly (bulk imports on
// pgx) rather than through GORM.
func Statement(ctx context.Context, action, entity string, entityID int64, data map[string]any) (string, []any, error) {
	a := ActorFrom(ctx)
	b := []byte("{}")
	if len(data) > 0 {
		var err error
		if b, err = json.Marshal(data); err != nil {
			return "", nil, fmt.Errorf("audit %s: %w", action, err)
		}
	}
	id := ""
	if entityID != 0 {
		id = strconv.FormatInt(entityID, 10)
	}
	return `INSERT INTO audit_log (at, user_id, organization_id, site_id, action, entity, entity_id, ip, request_id, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		[]any{time.Now().UTC().Truncate(time.Microsecond), a.UserID, a.OrganizationID, a.SiteID, action, entity, id, a.IP, a.RequestID, string(b)}, nil
}
