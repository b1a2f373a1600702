package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/recharges"
)

// Service is the inventory domain: its store and rules.
type Service struct {
	db        *database.DB
	partners  *partners.Service
	recharges *recharges.Service
	acc       *accessories.Service
	now       func() time.Time
}

// Config is what NewService needs.
type Config struct {
	DB       *database.DB
	Partners *partners.Service
	// Recharges moves cards with the transfers, Accessories their
	// accessories (nil: transfers carry none).
	Recharges   *recharges.Service
	Accessories *accessories.Service
	Now         func() time.Time // nil means database.Now
}

// NewService builds the inventory service.
func NewService(c Config) *Service {
	now := c.Now
	if now == nil {
		now = database.Now
	}
	return &Service{db: c.DB, partners: c.Partners, recharges: c.Recharges, acc: c.Accessories, now: now}
}

// Roles that handle stock.
var (
	WarehouseRoles = []partners.Role{partners.RoleAdmin, partners.RoleWarehouse}
	StaffRoles     = []partners.Role{partners.RoleAdmin, partners.RoleWarehouse, partners.RoleSpace}
)

// visibleDevices limits a devices query to what the caller may see: admins
// every device; site staff the devices at their site and those on their way
// to it; others none.
func visibleDevices(c partners.Caller) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if c.IsAdmin() {
			return db
		}
		site, ok := c.SiteID()
		if !ok {
			return db.Where("1 = 0")
		}
		return db.Where(`devices.site_id = ? OR devices.id IN (SELECT td.device_id FROM transfer_devices td
			JOIN transfers t ON t.id = td.transfer_id
			WHERE t.to_site_id = ? AND t.status IN ('shipped', 'received') AND td.received_at IS NULL)`, site, site)
	}
}

// ownSiteDevices limits a devices query to those the caller may change: admins
// any, site staff those at their own site.
func ownSiteDevices(c partners.Caller) func(*gorm.DB) *gorm.DB {
	return partners.AtOwnSite(c, "devices.site_id")
}

// event appends one step to a device's history and counts it in fig: the
// device leaves its state at fromSite for its state at d.SiteID, and a step
// of the lifecycle is counted on the site's day.
func (s *Service) event(tx *gorm.DB, fig *figures.Tally, c partners.Caller, d Device, fromSite int64, action string, from, to State, data map[string]any) error {
	_, err := s.recordEvent(tx, fig, c, d, fromSite, action, from, to, data)
	return err
}

// recordEvent is event, returning the event written (its id for what
// refers to it, such as an erasure report).
func (s *Service) recordEvent(tx *gorm.DB, fig *figures.Tally, c partners.Caller, d Device, fromSite int64, action string, from, to State, data map[string]any) (Event, error) {
	e := Event{DeviceID: d.ID, Action: action, FromState: from, ToState: to, At: s.now(), Data: mustJSON(data)}
	s.eventFigures(fig, d, fromSite, action, from, to, e.At)
	for _, m := range figures.Evidence(action, string(to), e.Data) {
		fig.AddAt(e.At, d.SiteID, m, string(d.Category), 1, 0)
	}
	if c.UserID != 0 {
		uid := c.UserID
		e.UserID = &uid
	}
	site := d.SiteID
	e.SiteID = &site
	if err := tx.Create(&e).Error; err != nil {
		return e, fmt.Errorf("record %s of device %s: %w", action, d.Tag, err)
	}
	return e, nil
}

// eventFigures counts a device's step in the figures of its transaction.
func (s *Service) eventFigures(fig *figures.Tally, d Device, fromSite int64, action string, from, to State, at time.Time) {
	fig.Move(fromSite, string(from), d.SiteID, string(to), string(d.Category))
	if step, ok := figures.Steps[action]; ok && (action != "erase" || to == Erased) {
		fig.AddAt(at, d.SiteID, step, string(d.Category), 1, 0)
		if step == figures.Ready {
			fig.AddAt(at, d.SiteID, figures.LagIntakeReady, figures.Days(d.CreatedAt, at), 1, 0)
		}
	}
}

// notFound: see database.NotFound.
var notFound = database.NotFound

// inTx runs fn in one transaction.
func (s *Service) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.InTx(ctx, fn)
}

func isNotFound(err error) bool { return errors.Is(err, apperr.ErrNotFound) }
