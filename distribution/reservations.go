package distribution

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// Reservation statuses.
const (
	ReservationActive    = "active"
	ReservationFulfilled = "fulfilled"
	ReservationExpired   = "expired"
	ReservationCancelled = "cancelled"
)

// Reservation is a device set aside at a space for a voucher until a time.
type Reservation struct {
	ID        int64      `json:"id"`
	VoucherID int64      `json:"voucher_id"`
	SiteID    int64      `json:"site_id"`
	Category  string     `json:"category"`
	DeviceID  int64      `json:"device_id"`
	Status    string     `json:"status"`
	ExpiresAt time.Time  `json:"expires_at"`
	CreatedBy *int64     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	EndedAt   *time.Time `json:"ended_at"`
	SaleID    *int64     `json:"sale_id"`
}

// ReservationView is a reservation with what a page shows of it: the
// device's tag, the space, the voucher's code and the person's first name.
type ReservationView struct {
	Reservation
	Tag         string `json:"tag" gorm:"-"`
	SiteName    string `json:"site_name" gorm:"-"`
	Timezone    string `json:"-" gorm:"-"` // the space's, to say its end in local time
	VoucherCode string `json:"voucher_code" gorm:"-"`
	FirstName   string `json:"first_name" gorm:"-"`
}

// StatusAt is the reservation's status at an instant: an active one whose
// time is over is expired, whether or not the job has marked it yet.
func (r Reservation) StatusAt(now time.Time) string {
	if r.Status == ReservationActive && !now.Before(r.ExpiresAt) {
		return ReservationExpired
	}
	return r.Status
}

// NewReservation is what POST /reservations takes.
type NewReservation struct {
	VoucherCode string `json:"voucher_code"`
	SiteID      int64  `json:"site_id"`
	Category    string `json:"category"`
	Days        *int   `json:"days"`
	Notify      bool   `json:"notify"`
}

// Reservation lengths, in days.
const (
	DefaultReservationDays = 7
	MaxReservationDays     = 30
)

// reservationRoles may set a device aside: the voucher's prescriber, the
// space, admins.
var reservationRoles = []partners.Role{partners.RoleAdmin, partners.RolePrescriber, partners.RoleSpace}

// Reserve sets one device of a category in stock at a space aside for a
// voucher: its prescriber organisation, that space's staff or an admin.
// 409 none-available when the space has none free; 409 when the voucher
// does not allow the category, or allows no more devices than it already
// has reservations for.
func (s *Service) Reserve(ctx context.Context, c partners.Caller, in NewReservation) (ReservationView, error) {
	if err := c.Require(reservationRoles...); err != nil {
		return ReservationView{}, err
	}
	v := &apperr.ValidationError{}
	code, err := NormalizeCode(in.VoucherCode)
	if err != nil {
		v.Field("voucher_code", "is required: the code printed on the voucher")
	}
	if in.SiteID <= 0 {
		v.Field("site_id", "is required")
	}
	if !inventory.Category(in.Category).Valid() {
		v.Field("category", "must be one of %s", categoryList())
	}
	days := DefaultReservationDays
	if in.Days != nil {
		days = *in.Days
		if days < 1 || days > MaxReservationDays {
			v.Field("days", "must be from 1 to %d", MaxReservationDays)
		}
	}
	if err := v.Err(); err != nil {
		return ReservationView{}, err
	}
	if in.Notify && len(s.channels) == 0 {
		return ReservationView{}, apperr.InvalidBecause("notifications-off", "notify", "notifications are not configured on this server: tell the person yourself")
	}
	if own, ok := c.SiteID(); ok && !c.IsAdmin() && own != in.SiteID {
		return ReservationView{}, fmt.Errorf("space %d: %w", in.SiteID, apperr.ErrNotFound)
	}
	now := s.now()
	var out ReservationView
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		site, err := partners.SiteIn(tx, in.SiteID)
		if err != nil {
			return err
		}
		if site.Kind != partners.KindSpace {
			return apperr.Invalid("site_id", "%s is not a space: devices are set aside where people come", site.Name)
		}
		// The voucher's row is locked: reservations and sales on one
		// voucher count its devices in turn.
		var vo Voucher
		q := s.db.Lock(tx, database.ForUpdate).Where("code = ?", code)
		if c.Role == partners.RolePrescriber {
			q = q.Where("organization_id = ?", c.OrganizationID)
		}
		if err := q.Take(&vo).Error; err != nil {
			return notFound(err, "voucher %s", FormatCode(code))
		}
		if st := vo.StatusAt(now); st != StatusActive {
			return apperr.Conflict("voucher-inactive", "voucher %s is %s", FormatCode(code), st)
		}
		if !slices.Contains(vo.Categories(), in.Category) {
			return apperr.Conflict("category-not-allowed", "voucher %s allows %s, not %s", FormatCode(code), strings.Join(vo.Categories(), ", "), in.Category)
		}
		var held int64
		if err := tx.Model(&Reservation{}).Where("voucher_id = ? AND status = ? AND expires_at > ?", vo.ID, ReservationActive, now).Count(&held).Error; err != nil {
			return fmt.Errorf("reservations of voucher: %w", err)
		}
		if left := vo.Remaining().Devices; int64(left) <= held {
			return apperr.Conflict("entitlement-exhausted", "voucher %s allows %d more device(s) and already has %d set aside", FormatCode(code), left, held)
		}
		until := now.Add(time.Duration(days) * 24 * time.Hour)
		d, err := s.inventory.Reserve(tx, site.ID, in.Category, vo.ID, until, now)
		if err != nil {
			return err
		}
		// A reservation of this device whose time is over may not be
		// marked yet: it is, before this one takes its place.
		if err := tx.Model(&Reservation{}).Where("device_id = ? AND status = ? AND expires_at <= ?", d.ID, ReservationActive, now).
			Updates(map[string]any{"status": ReservationExpired, "ended_at": now}).Error; err != nil {
			return fmt.Errorf("expire reservations: %w", err)
		}
		r := Reservation{VoucherID: vo.ID, SiteID: site.ID, Category: in.Category, DeviceID: d.ID, Status: ReservationActive,
			ExpiresAt: until, CreatedBy: c.UserRef(), CreatedAt: now}
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("record reservation: %w", err)
		}
		if err := audit.Record(tx.Statement.Context, tx, "reservation.create", "reservation", r.ID, map[string]any{"voucher_id": vo.ID, "device_id": d.ID, "days": days}); err != nil {
			return err
		}
		out = ReservationView{Reservation: r, Tag: d.Tag, SiteName: site.Name, Timezone: site.Timezone, VoucherCode: FormatCode(vo.Code)}
		if in.Notify {
			return s.tellReservation(tx, vo, out, site, in.Category)
		}
		return nil
	})
	return out, err
}

// reservationScope narrows reservations to what the caller may see: a
// prescriber its organisation's vouchers', a space its own site's.
func reservationScope(c partners.Caller) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		switch {
		case c.IsAdmin():
			return db
		case c.Role == partners.RolePrescriber:
			return db.Where("reservations.voucher_id IN (SELECT id FROM vouchers WHERE organization_id = ?)", c.OrganizationID)
		default:
			if own, ok := c.SiteID(); ok {
				return db.Where("reservations.site_id = ?", own)
			}
			return db.Where("1 = 0")
		}
	}
}

// CancelReservation ends an active reservation and frees its device.
func (s *Service) CancelReservation(ctx context.Context, c partners.Caller, id int64) (ReservationView, error) {
	if err := c.Require(reservationRoles...); err != nil {
		return ReservationView{}, err
	}
	now := s.now()
	var out ReservationView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		var r Reservation
		if err := tx.Scopes(reservationScope(c)).Where("reservations.id = ?", id).Take(&r).Error; err != nil {
			return notFound(err, "reservation %d", id)
		}
		if st := r.StatusAt(now); st != ReservationActive {
			return apperr.Conflict("reservation-ended", "reservation %d is %s", id, st)
		}
		res := tx.Model(&Reservation{}).Where("id = ? AND status = ?", id, ReservationActive).
			Updates(map[string]any{"status": ReservationCancelled, "ended_at": now})
		if res.Error != nil {
			return fmt.Errorf("cancel reservation %d: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("reservation-ended", "reservation %d ended meanwhile", id)
		}
		if err := s.inventory.Unreserve(tx, r.DeviceID, r.VoucherID); err != nil {
			return err
		}
		if err := audit.Record(tx.Statement.Context, tx, "reservation.cancel", "reservation", r.ID, nil); err != nil {
			return err
		}
		r.Status, r.EndedAt = ReservationCancelled, &now
		out = ReservationView{Reservation: r}
		return nil
	})
	if err != nil {
		return out, err
	}
	views, err := s.reservationViews(s.db.WithContext(ctx), []Reservation{out.Reservation}, now)
	if err != nil || len(views) == 0 {
		return out, err
	}
	return views[0], nil
}

// ReservationFilter narrows ListReservations.
type ReservationFilter struct {
	SiteID    int64
	Status    string
	VoucherID int64
}

// ListReservations lists the reservations the caller sees, soonest to end
// first; an active one whose time is over reads expired.
func (s *Service) ListReservations(ctx context.Context, c partners.Caller, f ReservationFilter) ([]ReservationView, error) {
	if err := c.Require(reservationRoles...); err != nil {
		return nil, err
	}
	if f.Status != "" && !slices.Contains([]string{ReservationActive, ReservationFulfilled, ReservationExpired, ReservationCancelled}, f.Status) {
		return nil, apperr.Invalid("status", "must be active, fulfilled, expired or cancelled")
	}
	now := s.now()
	db := s.db.WithContext(ctx)
	q := db.Scopes(reservationScope(c)).Order("reservations.expires_at, reservations.id").Limit(500)
	if f.SiteID != 0 {
		q = q.Where("reservations.site_id = ?", f.SiteID)
	}
	if f.VoucherID != 0 {
		q = q.Where("reservations.voucher_id = ?", f.VoucherID)
	}
	switch f.Status {
	case ReservationActive:
		q = q.Where("reservations.status = ? AND reservations.expires_at > ?", ReservationActive, now)
	case ReservationExpired:
		q = q.Where("reservations.status = ? OR (reservations.status = ? AND reservations.expires_at <= ?)", ReservationExpired, ReservationActive, now)
	case "":
	default:
		q = q.Where("reservations.status = ?", f.Status)
	}
	var rs []Reservation
	if err := q.Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("reservations: %w", err)
	}
	return s.reservationViews(db, rs, now)
}

// reservationViews adds the devices' tags, the spaces' names, the
// vouchers' codes and the people's first names, in three statements.
func (s *Service) reservationViews(db *gorm.DB, rs []Reservation, now time.Time) ([]ReservationView, error) {
	out := make([]ReservationView, 0, len(rs))
	if len(rs) == 0 {
		return out, nil
	}
	var devIDs, siteIDs, voucherIDs []int64
	for _, r := range rs {
		devIDs, siteIDs, voucherIDs = append(devIDs, r.DeviceID), append(siteIDs, r.SiteID), append(voucherIDs, r.VoucherID)
	}
	var tags []struct {
		ID  int64
		Tag string
	}
	if err := db.Table("devices").Select("id, tag").Where("id IN ?", devIDs).Scan(&tags).Error; err != nil {
		return nil, fmt.Errorf("reserved devices: %w", err)
	}
	var sites []struct {
		ID             int64
		Name, Timezone string
	}
	if err := db.Table("organizations").Select("id, name, timezone").Where("id IN ?", siteIDs).Scan(&sites).Error; err != nil {
		return nil, fmt.Errorf("spaces: %w", err)
	}
	var people []struct {
		ID        int64
		Code      string
		FirstName string
	}
	if err := db.Table("vouchers v").Select("v.id, v.code, b.first_name").Joins("JOIN beneficiaries b ON b.id = v.beneficiary_id").
		Where("v.id IN ?", voucherIDs).Scan(&people).Error; err != nil {
		return nil, fmt.Errorf("vouchers: %w", err)
	}
	for _, r := range rs {
		r.Status = r.StatusAt(now)
		v := ReservationView{Reservation: r}
		for _, t := range tags {
			if t.ID == r.DeviceID {
				v.Tag = t.Tag
			}
		}
		for _, st := range sites {
			if st.ID == r.SiteID {
				v.SiteName, v.Timezone = st.Name, st.Timezone
			}
		}
		for _, p := range people {
			if p.ID == r.VoucherID {
				v.VoucherCode, v.FirstName = FormatCode(p.Code), p.FirstName
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// ExpireReservations marks the reservations whose time is over expired
// and tidies their devices (they were free from that time already). Every
// process of serve runs it; it is one idempotent update, so running it
// twice, or in two processes at once, ends each reservation once.
func (s *Service) ExpireReservations(ctx context.Context) (int64, error) {
	now := s.now()
	var n int64
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Reservation{}).Where("status = ? AND expires_at <= ?", ReservationActive, now).
			Updates(map[string]any{"status": ReservationExpired, "ended_at": now})
		if res.Error != nil {
			return fmt.Errorf("expire reservations: %w", res.Error)
		}
		n = res.RowsAffected
		return s.inventory.FreeExpired(tx, now)
	})
	return n, err
}

// settleReservations ends a voucher's reservations after its sale: the
// reserved devices it sold are fulfilled, and what its entitlement no
// longer covers (left devices after the sale) is cancelled, newest first,
// its devices freed.
func (s *Service) settleReservations(tx *gorm.DB, voucherID, saleID int64, lines []SaleLine, left int, now time.Time) error {
	var sold []int64
	for _, l := range lines {
		if l.DeviceID != nil {
			sold = append(sold, *l.DeviceID)
		}
	}
	if len(sold) > 0 {
		if err := tx.Model(&Reservation{}).Where("voucher_id = ? AND status = ? AND device_id IN ?", voucherID, ReservationActive, sold).
			Updates(map[string]any{"status": ReservationFulfilled, "sale_id": saleID, "ended_at": now}).Error; err != nil {
			return fmt.Errorf("fulfil reservations: %w", err)
		}
	}
	var still []Reservation
	if err := tx.Where("voucher_id = ? AND status = ? AND expires_at > ?", voucherID, ReservationActive, now).Order("id DESC").Find(&still).Error; err != nil {
		return fmt.Errorf("reservations of voucher %d: %w", voucherID, err)
	}
	for i := 0; i < len(still)-max(left, 0); i++ {
		r := still[i]
		if err := tx.Model(&Reservation{}).Where("id = ?", r.ID).Updates(map[string]any{"status": ReservationCancelled, "ended_at": now}).Error; err != nil {
			return fmt.Errorf("cancel reservation %d: %w", r.ID, err)
		}
		if err := s.inventory.Unreserve(tx, r.DeviceID, voucherID); err != nil {
			return err
		}
	}
	return nil
}

// Space is a space where devices can be found, for a prescriber.
type Space struct {
	SiteID             int64            `json:"site_id"`
	Name               string           `json:"name"`
	Address            string           `json:"address"`
	PostalCode         string           `json:"postal_code"`
	Devices            map[string]int64 `json:"devices"`
	RechargesAvailable bool             `json:"recharges_available"`
}

// postalCode is the last five-digit group of an address: its French
// postal code, overseas ones included.
var addressPostalCode = regexp.MustCompile(`\b\d{5}\b`)

func categoryList() string {
	names := make([]string, len(inventory.Categories))
	for i, c := range inventory.Categories {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// Availability lists the spaces with their counts of devices in stock and
// not set aside, by category (one category with category set), and
// whether they have recharge cards to sell: no tag, no single device's
// price. For prescribers, spaces and admins.
func (s *Service) Availability(ctx context.Context, c partners.Caller, category string) ([]Space, error) {
	if err := c.Require(reservationRoles...); err != nil {
		return nil, err
	}
	if category != "" && !inventory.Category(category).Valid() {
		return nil, apperr.Invalid("category", "must be one of %s", categoryList())
	}
	db := s.db.WithContext(ctx)
	now := s.now()
	var spaces []partners.Organization
	if err := db.Where("kind = ? AND active = ?", partners.KindSpace, true).Order("name").Find(&spaces).Error; err != nil {
		return nil, fmt.Errorf("spaces: %w", err)
	}
	counts, err := s.inventory.Available(db, now, category)
	if err != nil {
		return nil, err
	}
	// Cards sellable today somewhere: a day ahead of UTC covers every zone
	// the network's spaces are in within a day's margin.
	// One seek per space of the available cards' index (site first), not a
	// read of the million cards on the shelves.
	var withCards []int64
	if err := db.Raw(`SELECT o.id FROM organizations o WHERE o.kind = ? AND o.active = ? AND EXISTS (SELECT 1 FROM recharge_units u
		WHERE u.site_id = o.id AND u.status = 'available' AND u.expires_on >= ?)`, partners.KindSpace, true, now.UTC().Format(time.DateOnly)).
		Scan(&withCards).Error; err != nil {
		return nil, fmt.Errorf("recharge stock: %w", err)
	}
	out := make([]Space, 0, len(spaces))
	for _, sp := range spaces {
		devices := counts[sp.ID]
		if devices == nil {
			devices = map[string]int64{}
		}
		pc := ""
		if all := addressPostalCode.FindAllString(sp.Address, -1); len(all) > 0 {
			pc = all[len(all)-1]
		}
		out = append(out, Space{SiteID: sp.ID, Name: sp.Name, Address: sp.Address, PostalCode: pc, Devices: devices,
			RechargesAvailable: slices.Contains(withCards, sp.ID)})
	}
	return out, nil
}
