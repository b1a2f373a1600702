package distribution

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/journal"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Closing is a site's local day at the till.
type Closing struct {
	SiteID          int64            `json:"site_id"`
	Date            string           `json:"date"`
	Timezone        string           `json:"timezone"`
	Count           int64            `json:"count"`
	TotalCents      int64            `json:"total_cents"`
	TotalsByPayment map[string]int64 `json:"totals_by_payment"`
	DevicesSold     int64            `json:"devices_sold"`
	RechargesSold   int64            `json:"recharges_sold"`
	AccessoriesSold int64            `json:"accessories_sold"`
	Refunds         int64            `json:"refunds"`
	RefundsCents    int64            `json:"refunds_cents"`
	ExpectedCash    int64            `json:"expected_cash_cents"`
	Recorded        *RecordedClosing `json:"recorded"`
	// JournalHash is the head of the site's sales journal at the closing
	// (its own entry's hash): null until the closing is recorded.
	JournalHash *string `json:"journal_hash"`
}

// RecordedClosing is the till count, once recorded: the day is then locked.
type RecordedClosing struct {
	CountedCashCents  int64     `json:"counted_cash_cents"`
	ExpectedCashCents int64     `json:"expected_cash_cents"`
	DifferenceCents   int64     `json:"difference_cents"`
	UserID            *int64    `json:"user_id"`
	CreatedAt         time.Time `json:"created_at"`
	JournalHash       *string   `json:"journal_hash"`
}

func (s *Service) siteFor(db *gorm.DB, c partners.Caller, siteID int64) (partners.Organization, error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return partners.Organization{}, err
	}
	if own, ok := c.SiteID(); !c.IsAdmin() && (!ok || own != siteID) {
		return partners.Organization{}, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
	}
	var site partners.Organization
	if err := db.Where("id = ? AND kind = ?", siteID, partners.KindSpace).Take(&site).Error; err != nil {
		return site, notFound(err, "space %d", siteID)
	}
	return site, nil
}

// DayClosing sums a site's local day: sales are counted on the day they were
// made in the site's time zone (23:30 in La Réunion is that Réunion day).
func (s *Service) DayClosing(ctx context.Context, c partners.Caller, siteID int64, date string) (Closing, error) {
	db := s.db.WithContext(ctx)
	site, err := s.siteFor(db, c, siteID)
	if err != nil {
		return Closing{}, err
	}
	if date == "" {
		date = s.now().In(site.Location()).Format(time.DateOnly)
	}
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return Closing{}, apperr.Invalid("date", "must be a date such as 2026-11-23")
	}
	return s.closing(db, site, date)
}

func (s *Service) closing(db *gorm.DB, site partners.Organization, date string) (Closing, error) {
	out := Closing{SiteID: site.ID, Date: date, Timezone: site.Timezone, TotalsByPayment: map[string]int64{"cash": 0, "card": 0, "free": 0}}
	var byPay []struct {
		PaymentMethod string
		N             int64
		Total         int64
	}
	if err := db.Table("sales").Select("payment_method, COUNT(*) AS n, COALESCE(SUM(total_cents), 0) AS total").
		Where("site_id = ? AND local_date = ?", site.ID, date).Group("payment_method").Scan(&byPay).Error; err != nil {
		return out, fmt.Errorf("closing: %w", err)
	}
	for _, p := range byPay {
		out.Count += p.N
		out.TotalCents += p.Total
		out.TotalsByPayment[p.PaymentMethod] = p.Total
	}
	var kinds []struct {
		Kind string
		N    int64
	}
	if err := db.Table("sale_lines l").Select("l.kind, COUNT(*) AS n").Joins("JOIN sales s ON s.id = l.sale_id").
		Where("s.site_id = ? AND s.local_date = ?", site.ID, date).Group("l.kind").Scan(&kinds).Error; err != nil {
		return out, fmt.Errorf("closing: %w", err)
	}
	for _, k := range kinds {
		if k.Kind == "device" {
			out.DevicesSold = k.N
		} else {
			out.RechargesSold = k.N
		}
	}
	if err := db.Table("sale_accessories sa").Select("COALESCE(SUM(sa.quantity), 0)").Joins("JOIN sales s ON s.id = sa.sale_id").
		Where("s.site_id = ? AND s.local_date = ?", site.ID, date).Scan(&out.AccessoriesSold).Error; err != nil {
		return out, fmt.Errorf("closing: %w", err)
	}
	var refunds struct {
		N     int64
		Total int64
		Cash  int64
	}
	if err := db.Table("refunds r").Select("COUNT(*) AS n, COALESCE(SUM(r.amount_cents), 0) AS total, "+
		"COALESCE(SUM(CASE WHEN s.payment_method = 'cash' THEN r.amount_cents ELSE 0 END), 0) AS cash").
		Joins("JOIN sales s ON s.id = r.sale_id").Where("r.site_id = ? AND r.local_date = ?", site.ID, date).Scan(&refunds).Error; err != nil {
		return out, fmt.Errorf("closing: %w", err)
	}
	out.Refunds, out.RefundsCents = refunds.N, refunds.Total
	out.ExpectedCash = out.TotalsByPayment["cash"] - refunds.Cash
	var rec RecordedClosing
	err := db.Table("closings").Where("site_id = ? AND local_date = ?", site.ID, date).Take(&rec).Error
	if err == nil {
		out.Recorded = &rec
		out.JournalHash = rec.JournalHash
	} else if !isRecordNotFound(err) {
		return out, fmt.Errorf("closing: %w", err)
	}
	return out, nil
}

// RecordClosing records the counted cash of a local day; from then on the
// day takes no sale nor refund.
func (s *Service) RecordClosing(ctx context.Context, c partners.Caller, siteID int64, date string, counted int64) (Closing, error) {
	var out Closing
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		// The site's row exclusively: the sales in flight (which share it)
		// commit first and are counted; later ones see the closing.
		site, err := s.siteFor(s.db.Lock(tx, database.ForUpdate), c, siteID)
		if err != nil {
			return err
		}
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return apperr.Invalid("date", "must be a date such as 2026-11-23")
		}
		if counted < 0 || counted > 100_000_000 {
			return apperr.Invalid("counted_cash_cents", "must be between 0 and 100000000")
		}
		today := s.now().In(site.Location()).Format(time.DateOnly)
		if date > today {
			return apperr.Invalid("date", "%s has not come yet", date)
		}
		cl, err := s.closing(tx, site, date)
		if err != nil {
			return err
		}
		rec := RecordedClosing{CountedCashCents: counted, ExpectedCashCents: cl.ExpectedCash, DifferenceCents: counted - cl.ExpectedCash,
			UserID: c.UserRef(), CreatedAt: s.now()}
		if err := tx.Exec(`INSERT INTO closings (site_id, local_date, counted_cash_cents, expected_cash_cents, difference_cents, user_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, site.ID, date, rec.CountedCashCents, rec.ExpectedCashCents, rec.DifferenceCents, rec.UserID, rec.CreatedAt).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("day-closed", "the closing of %s is already recorded", date)
			}
			return fmt.Errorf("record closing: %w", err)
		}
		head, err := journal.Append(tx, site.ID, journal.Closing, closingRef(site.ID, date), closingRecord{SiteID: site.ID, LocalDate: date,
			CountedCashCents: rec.CountedCashCents, ExpectedCashCents: rec.ExpectedCashCents, DifferenceCents: rec.DifferenceCents,
			UserID: rec.UserID, CreatedAt: instant(rec.CreatedAt)}, rec.CreatedAt)
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE closings SET journal_hash = ? WHERE site_id = ? AND local_date = ?`, head, site.ID, date).Error; err != nil {
			return fmt.Errorf("record closing: %w", err)
		}
		rec.JournalHash = &head
		cl.JournalHash = &head
		if err := audit.Record(ctx, tx, "closing.record", "organization", site.ID, map[string]any{"date": date, "counted_cash_cents": counted,
			"difference_cents": rec.DifferenceCents}); err != nil {
			return err
		}
		cl.Recorded = &rec
		out = cl
		return nil
	})
	return out, err
}

// SaleFilter narrows ListSales.
type SaleFilter struct {
	SiteID      int64
	Date        string
	VoucherCode string
}

// ListSales lists sales by site and local day, or by voucher, without PINs.
func (s *Service) ListSales(ctx context.Context, c partners.Caller, f SaleFilter, p paging.Page) (paging.List[Sale], error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return paging.List[Sale]{}, err
	}
	q := s.db.WithContext(ctx).Scopes(partners.AtOwnSite(c, "site_id")).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if f.SiteID != 0 {
		q = q.Where("site_id = ?", f.SiteID)
	}
	if f.Date != "" {
		if _, err := time.Parse(time.DateOnly, f.Date); err != nil {
			return paging.List[Sale]{}, apperr.Invalid("date", "must be a date such as 2026-11-23")
		}
		q = q.Where("local_date = ?", f.Date)
	}
	if f.VoucherCode != "" {
		code, err := NormalizeCode(f.VoucherCode)
		if err != nil {
			return paging.List[Sale]{}, apperr.Invalid("voucher_code", "is mistyped")
		}
		q = q.Where("voucher_id IN (SELECT id FROM vouchers WHERE code = ?)", code)
	}
	var out []Sale
	if err := q.Find(&out).Error; err != nil {
		return paging.List[Sale]{}, fmt.Errorf("list sales: %w", err)
	}
	return paging.New(out, p, func(s Sale) int64 { return s.ID }), nil
}

// PastClosing is a day whose till count is recorded.
type PastClosing struct {
	Date string `json:"date" gorm:"column:local_date"`
	RecordedClosing
}

// TodayClosed tells whether the caller's space has closed its till for its
// local day (no sale can be made then), and which day that is.
func (s *Service) TodayClosed(ctx context.Context, c partners.Caller) (bool, time.Time, error) {
	own, ok := c.SiteID()
	if !ok {
		return false, time.Time{}, nil
	}
	loc, err := zone.Load(c.Timezone)
	if err != nil {
		loc = time.UTC
	}
	now := s.now().In(loc)
	var n int64
	if err := s.db.WithContext(ctx).Table("closings").Where("site_id = ? AND local_date = ?", own, now.Format(time.DateOnly)).Count(&n).Error; err != nil {
		return false, now, fmt.Errorf("today's closing: %w", err)
	}
	return n > 0, now, nil
}

// PastClosings lists a site's recorded closings, the latest first.
func (s *Service) PastClosings(ctx context.Context, c partners.Caller, siteID int64, n int) ([]PastClosing, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.siteFor(db, c, siteID); err != nil {
		return nil, err
	}
	var out []PastClosing
	if err := db.Table("closings").Where("site_id = ?", siteID).Order("local_date DESC").Limit(n).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("past closings of site %d: %w", siteID, err)
	}
	return out, nil
}
