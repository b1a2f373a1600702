package distribution

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/journal"
	"github.com/tremplin/tremplin/inventory"
)

// What the journal keeps of a sale, a refund and a closing: their fields
// that never change once written (not a receipt's reprints, not a line's
// later refund), in one canonical form that the sale writes from what it
// holds and the check rebuilds from the rows.

type saleRecord struct {
	ID            int64             `json:"id"`
	SiteID        int64             `json:"site_id"`
	SellerID      *int64            `json:"seller_id"`
	VoucherID     int64             `json:"voucher_id"`
	BeneficiaryID int64             `json:"beneficiary_id"`
	PaymentMethod string            `json:"payment_method"`
	TotalCents    int64             `json:"total_cents"`
	LocalDate     string            `json:"local_date"`
	CreatedAt     string            `json:"created_at"`
	Lines         []lineRecord      `json:"lines"`
	Accessories   []accessoryRecord `json:"accessories"`
}

type lineRecord struct {
	Kind           string `json:"kind"`
	DeviceID       *int64 `json:"device_id"`
	ProductID      *int64 `json:"product_id"`
	RechargeUnitID *int64 `json:"recharge_unit_id"`
	PriceCents     int64  `json:"price_cents"`
}

type accessoryRecord struct {
	AccessoryID int64 `json:"accessory_id"`
	Quantity    int   `json:"quantity"`
	PriceCents  int64 `json:"price_cents"`
}

type refundRecord struct {
	ID          int64   `json:"id"`
	SaleID      int64   `json:"sale_id"`
	SiteID      int64   `json:"site_id"`
	UserID      *int64  `json:"user_id"`
	Reason      string  `json:"reason"`
	AmountCents int64   `json:"amount_cents"`
	LocalDate   string  `json:"local_date"`
	CreatedAt   string  `json:"created_at"`
	Devices     []int64 `json:"devices"`
}

type closingRecord struct {
	SiteID            int64  `json:"site_id"`
	LocalDate         string `json:"local_date"`
	CountedCashCents  int64  `json:"counted_cash_cents"`
	ExpectedCashCents int64  `json:"expected_cash_cents"`
	DifferenceCents   int64  `json:"difference_cents"`
	UserID            *int64 `json:"user_id"`
	CreatedAt         string `json:"created_at"`
}

// instant is an instant as the journal writes it: UTC, to the microsecond
// both engines keep.
func instant(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

// record is what the journal keeps of a refund, its devices still to add.
func (r refundRow) record() refundRecord {
	return refundRecord{ID: r.ID, SaleID: r.SaleID, SiteID: r.SiteID, UserID: r.UserID, Reason: r.Reason, AmountCents: r.AmountCents,
		LocalDate: r.LocalDate, CreatedAt: instant(r.CreatedAt), Devices: []int64{}}
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func closingRef(siteID int64, date string) string { return fmt.Sprintf("%d/%s", siteID, date) }

func newSaleRecord(s Sale, lines []SaleLine, acc []SaleLine) saleRecord {
	r := saleRecord{ID: s.ID, SiteID: s.SiteID, SellerID: s.SellerID, VoucherID: s.VoucherID, BeneficiaryID: s.BeneficiaryID,
		PaymentMethod: s.PaymentMethod, TotalCents: s.TotalCents, LocalDate: s.LocalDate, CreatedAt: instant(s.CreatedAt),
		Lines: []lineRecord{}, Accessories: []accessoryRecord{}}
	for _, l := range lines {
		r.Lines = append(r.Lines, lineRecord{Kind: l.Kind, DeviceID: l.DeviceID, ProductID: l.ProductID, RechargeUnitID: l.RechargeUnitID, PriceCents: l.PriceCents})
	}
	for _, a := range acc {
		r.Accessories = append(r.Accessories, accessoryRecord{AccessoryID: *a.AccessoryID, Quantity: a.Quantity, PriceCents: a.PriceCents})
	}
	// The lines' order, by what they sold (the record is written before
	// the lines get their ids).
	slices.SortFunc(r.Lines, func(a, b lineRecord) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(deref(a.DeviceID), deref(b.DeviceID)),
			cmp.Compare(deref(a.RechargeUnitID), deref(b.RechargeUnitID)), cmp.Compare(deref(a.ProductID), deref(b.ProductID)),
			cmp.Compare(a.PriceCents, b.PriceCents))
	})
	slices.SortFunc(r.Accessories, func(a, b accessoryRecord) int { return cmp.Compare(a.AccessoryID, b.AccessoryID) })
	return r
}

// recompute is the journal's Recompute for distribution's rows.
func recompute(db *gorm.DB, kind string, refs []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	put := func(ref string, v any) error {
		b, err := journal.Canonical(v)
		out[ref] = b
		return err
	}
	switch kind {
	case journal.Sale, journal.Refund:
		ids := make([]int64, 0, len(refs))
		for _, r := range refs {
			if id, err := strconv.ParseInt(r, 10, 64); err == nil {
				ids = append(ids, id)
			}
		}
		if kind == journal.Refund {
			return out, refundRecords(db, ids, put)
		}
		return out, saleRecords(db, ids, put)
	case journal.Closing:
		var sites []int64
		var dates []string
		for _, r := range refs {
			site, date, _ := strings.Cut(r, "/")
			id, _ := strconv.ParseInt(site, 10, 64)
			sites, dates = append(sites, id), append(dates, date)
		}
		var rows []struct {
			SiteID            int64
			LocalDate         string
			CountedCashCents  int64
			ExpectedCashCents int64
			DifferenceCents   int64
			UserID            *int64
			CreatedAt         time.Time
		}
		if err := db.Table("closings").Where("site_id IN ? AND local_date IN ?", sites, dates).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, c := range rows {
			if err := put(closingRef(c.SiteID, c.LocalDate), closingRecord{SiteID: c.SiteID, LocalDate: c.LocalDate, CountedCashCents: c.CountedCashCents,
				ExpectedCashCents: c.ExpectedCashCents, DifferenceCents: c.DifferenceCents, UserID: c.UserID, CreatedAt: instant(c.CreatedAt)}); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %q", journal.ErrUnknownKind, kind)
}

func saleRecords(db *gorm.DB, ids []int64, put func(string, any) error) error {
	var sales []Sale
	if err := db.Where("id IN ?", ids).Find(&sales).Error; err != nil {
		return err
	}
	var lines []SaleLine
	if err := db.Where("sale_id IN ?", ids).Find(&lines).Error; err != nil {
		return err
	}
	var acc []struct {
		SaleID      int64
		AccessoryID int64
		Quantity    int
		PriceCents  int64
	}
	if err := db.Table("sale_accessories").Where("sale_id IN ?", ids).Find(&acc).Error; err != nil {
		return err
	}
	for _, s := range sales {
		var ls, as []SaleLine
		for _, l := range lines {
			if l.SaleID == s.ID {
				ls = append(ls, l)
			}
		}
		for _, a := range acc {
			if a.SaleID == s.ID {
				as = append(as, SaleLine{AccessoryID: &a.AccessoryID, Quantity: a.Quantity, PriceCents: a.PriceCents})
			}
		}
		if err := put(strconv.FormatInt(s.ID, 10), newSaleRecord(s, ls, as)); err != nil {
			return err
		}
	}
	return nil
}

func refundRecords(db *gorm.DB, ids []int64, put func(string, any) error) error {
	var rows []refundRecord
	var raw []refundRow
	if err := db.Table("refunds").Where("id IN ?", ids).Find(&raw).Error; err != nil {
		return err
	}
	var lines []struct {
		DeviceID int64
		RefundID int64
	}
	if err := db.Table("sale_lines").Select("device_id, refund_id").Where("refund_id IN ?", ids).Order("device_id").Find(&lines).Error; err != nil {
		return err
	}
	for _, r := range raw {
		rec := r.record()
		for _, l := range lines {
			if l.RefundID == r.ID {
				rec.Devices = append(rec.Devices, l.DeviceID)
			}
		}
		rows = append(rows, rec)
	}
	for _, r := range rows {
		if err := put(strconv.FormatInt(r.ID, 10), r); err != nil {
			return err
		}
	}
	return nil
}

// checkJournal is the check's rule "journal": the chains hold, every
// journaled row still says what was journaled, each closing's printed head
// is its entry's, and no sale, refund or closing made since a site's
// journal began is missing from it.
func (s *Service) checkJournal(db *gorm.DB) ([]inventory.Breach, error) {
	found, err := journal.Verify(db, recompute)
	if err != nil {
		return nil, err
	}
	var out []inventory.Breach
	for _, b := range found {
		out = append(out, inventory.Breach{Rule: "journal", Detail: fmt.Sprintf("site %d, entry %d: %s", b.SiteID, b.Seq, b.Detail)})
	}
	var missing []struct {
		Kind   string
		Ref    string
		SiteID int64
	}
	// The rows written since each site's first entry and absent from the
	// journal (made, or put back, behind Tremplin's back).
	if err := db.Raw(`WITH starts AS (SELECT site_id, MIN(created_at) AS at FROM journal_entries WHERE seq = 1 GROUP BY site_id)
		SELECT 'sale' AS kind, CAST(s.id AS TEXT) AS ref, s.site_id FROM sales s JOIN starts ON starts.site_id = s.site_id
			WHERE s.created_at >= starts.at AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.kind = 'sale' AND e.ref = CAST(s.id AS TEXT))
		UNION ALL
		SELECT 'refund', CAST(r.id AS TEXT), r.site_id FROM refunds r JOIN starts ON starts.site_id = r.site_id
			WHERE r.created_at >= starts.at AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.kind = 'refund' AND e.ref = CAST(r.id AS TEXT))
		UNION ALL
		SELECT 'closing', c.local_date, c.site_id FROM closings c JOIN starts ON starts.site_id = c.site_id
			WHERE c.created_at >= starts.at AND c.journal_hash IS NULL`).Scan(&missing).Error; err != nil {
		return nil, fmt.Errorf("check journal: %w", err)
	}
	for _, m := range missing {
		out = append(out, inventory.Breach{Rule: "journal", Detail: fmt.Sprintf("site %d: %s %s is not in the journal", m.SiteID, m.Kind, m.Ref)})
	}
	var closings []struct {
		SiteID      int64
		LocalDate   string
		JournalHash string
		Hash        *string
	}
	if err := db.Raw(`SELECT c.site_id, c.local_date, c.journal_hash,
			(SELECT e.hash FROM journal_entries e WHERE e.kind = 'closing' AND e.ref = CAST(c.site_id AS TEXT) || '/' || c.local_date) AS hash
		FROM closings c WHERE c.journal_hash IS NOT NULL`).Scan(&closings).Error; err != nil {
		return nil, fmt.Errorf("check journal: %w", err)
	}
	for _, c := range closings {
		if c.Hash == nil || *c.Hash != c.JournalHash {
			out = append(out, inventory.Breach{Rule: "journal", Detail: fmt.Sprintf("site %d: the closing of %s prints a journal head that is not its entry's", c.SiteID, c.LocalDate)})
		}
	}
	return out, nil
}
