package distribution

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/accessories"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/journal"
	"github.com/tremplin/tremplin/partners"
)

// RefundRequest is the body of POST /sales/{id}/refund.
type RefundRequest struct {
	Reason    string  `json:"reason"`
	DeviceIDs []int64 `json:"device_ids"`
	// Accessories brought back go back into the site's stock.
	Accessories []AccessoryBack `json:"accessories"`
}

// AccessoryBack is how many of a sale's accessory come back.
type AccessoryBack = accessories.Quantity

// refundRow is a row of refunds.
type refundRow struct {
	ID          int64
	SaleID      int64
	SiteID      int64
	UserID      *int64
	Reason      string
	AmountCents int64
	LocalDate   string
	CreatedAt   time.Time
}

// Refund records devices brought back within the warranty: each goes
// returned (to be diagnosed again), its price is given back, and the voucher
// gets its device entitlement back. Recharges are not refundable once sold.
func (s *Service) Refund(ctx context.Context, c partners.Caller, saleID int64, in RefundRequest) (SaleView, error) {
	reason := strings.TrimSpace(in.Reason)
	v := &apperr.ValidationError{}
	if reason == "" || len([]rune(reason)) > 500 {
		v.Field("reason", "is required, at most 500 characters")
	}
	if err := v.Err(); err != nil {
		return SaleView{}, err
	}
	var out SaleView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		sale, err := s.saleFor(tx, c, saleID)
		if err != nil {
			return err
		}
		var lines []SaleLine
		if err := tx.Where("sale_id = ?", sale.ID).Order("id").Find(&lines).Error; err != nil {
			return fmt.Errorf("sale lines: %w", err)
		}
		if len(in.DeviceIDs) == 0 && len(in.Accessories) == 0 {
			// A sale with a device still to bring back was sent without
			// naming it; one of recharges alone has nothing to refund.
			refundable := slices.ContainsFunc(lines, func(l SaleLine) bool { return l.DeviceID != nil && l.RefundID == nil })
			if !refundable && slices.ContainsFunc(lines, func(l SaleLine) bool { return l.Kind == "recharge" }) {
				return apperr.Conflict("not-refundable", "recharges are not refundable once sold: their PIN was handed over")
			}
			return apperr.Invalid("device_ids", "name the devices brought back")
		}
		var site partners.Organization // shared with sales, against a closing (see sell)
		if err := s.db.Lock(tx, database.ForShare).Where("id = ?", sale.SiteID).Take(&site).Error; err != nil {
			return fmt.Errorf("site: %w", err)
		}
		now := s.now()
		if now.After(sale.CreatedAt.AddDate(0, s.policy.WarrantyMonths, 0)) {
			return apperr.Conflict("warranty-over", "sold on %s: the %d-month warranty is over", sale.LocalDate, s.policy.WarrantyMonths)
		}
		localDate := now.In(site.Location()).Format(time.DateOnly)
		if err := s.checkOpen(tx, site.ID, localDate); err != nil {
			return err
		}
		var chosen []SaleLine
		for _, id := range in.DeviceIDs {
			i := slices.IndexFunc(lines, func(l SaleLine) bool { return l.DeviceID != nil && *l.DeviceID == id })
			switch {
			case i < 0:
				v.Field("device_ids", "device %d is not on sale %d", id, sale.ID)
			case lines[i].RefundID != nil:
				return apperr.Conflict("already-refunded", "device %d was already refunded", id)
			case slices.ContainsFunc(chosen, func(l SaleLine) bool { return l.ID == lines[i].ID }):
				v.Field("device_ids", "device %d is listed twice", id)
			default:
				chosen = append(chosen, lines[i])
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		var amount int64
		for _, l := range chosen {
			amount += l.PriceCents
		}
		// Accessories brought back: at most what the sale sold and was not
		// brought back yet, each back into the site's stock.
		sold, err := saleAccessories(tx, sale.ID)
		if err != nil {
			return err
		}
		type back struct {
			line SaleLine
			n    int
		}
		var backs []back
		for i, a := range in.Accessories {
			j := slices.IndexFunc(sold, func(l SaleLine) bool { return *l.AccessoryID == a.AccessoryID })
			switch {
			case j < 0:
				v.Field(fmt.Sprintf("accessories[%d].accessory_id", i), "accessory %d is not on sale %d", a.AccessoryID, sale.ID)
			case a.Quantity < 1:
				v.Field(fmt.Sprintf("accessories[%d].quantity", i), "must be at least 1")
			case a.Quantity > sold[j].Quantity-sold[j].Refunded:
				return apperr.Conflict("already-refunded", "%d of accessory %d were sold on sale %d and %d brought back already", sold[j].Quantity, a.AccessoryID, sale.ID, sold[j].Refunded)
			default:
				backs = append(backs, back{sold[j], a.Quantity})
				amount += int64(a.Quantity) * sold[j].PriceCents
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if sale.PaymentMethod == "free" {
			amount = 0
		}
		r := refundRow{SaleID: sale.ID, SiteID: site.ID, UserID: c.UserRef(), Reason: reason, AmountCents: amount, LocalDate: localDate, CreatedAt: now}
		if err := tx.Table("refunds").Create(&r).Error; err != nil {
			return fmt.Errorf("record refund: %w", err)
		}
		var fig figures.Tally
		fig.Add(sale.LocalDate, sale.SiteID, figures.Sales, sale.PaymentMethod, 0, -amount)
		free := sale.PaymentMethod == "free"
		for _, b := range backs {
			res := tx.Exec(`UPDATE sale_accessories SET refunded = refunded + ? WHERE id = ? AND refunded + ? <= quantity`, b.n, b.line.ID, b.n)
			if res.Error != nil {
				return fmt.Errorf("refund accessories: %w", res.Error)
			}
			if res.RowsAffected != 1 {
				return apperr.Conflict("already-refunded", "accessory %d was brought back meanwhile", *b.line.AccessoryID)
			}
			sid := sale.ID
			if _, err := s.acc.Move(tx, c, accessories.Line{AccessoryID: *b.line.AccessoryID, SiteID: site.ID, Quantity: b.n,
				Kind: accessories.Refund, Reason: reason, SaleID: &sid}); err != nil {
				return err
			}
			if ref := b.line.ReferenceCents; ref != nil {
				fig.Add(sale.LocalDate, sale.SiteID, figures.Savings, "", 0, -int64(b.n)*figures.Saved("device", b.line.PriceCents, 0, *ref, free))
			}
		}
		for _, l := range chosen {
			res := tx.Model(&SaleLine{}).Where("id = ? AND refund_id IS NULL", l.ID).Update("refund_id", r.ID)
			if res.Error != nil {
				return fmt.Errorf("refund line: %w", res.Error)
			}
			if res.RowsAffected != 1 {
				return apperr.Conflict("already-refunded", "device %d was refunded meanwhile", *l.DeviceID)
			}
			d, err := s.inventory.ReturnDevice(ctx, tx, &fig, c, *l.DeviceID, site.ID, sale.ID, reason)
			if err != nil {
				return err
			}
			// The sale's day no longer counts it sold, nor its price.
			fig.Add(sale.LocalDate, sale.SiteID, figures.Sold, string(d.Category), -1, 0)
			fig.Add(sale.LocalDate, sale.SiteID, figures.Savings, "", 0, -figures.Saved("device", l.PriceCents, 0, figures.ReferencePrice(d.Specs), free))
		}
		// The entitlement comes back; a used-up voucher is active again.
		if err := tx.Model(&Voucher{}).Where("id = ?", sale.VoucherID).
			Updates(map[string]any{"devices_used": gorm.Expr("devices_used - ?", len(chosen)),
				"status": gorm.Expr("CASE WHEN status = ? THEN ? ELSE status END", StatusUsed, StatusActive)}).Error; err != nil {
			return fmt.Errorf("restore entitlement: %w", err)
		}
		if err := audit.Record(ctx, tx, "sale.refund", "sale", sale.ID, map[string]any{"refund_id": r.ID, "devices": len(chosen),
			"amount_cents": amount, "reason": reason}); err != nil {
			return err
		}
		if err := fig.Flush(tx); err != nil {
			return err
		}
		rec := r.record()
		for _, l := range chosen {
			rec.Devices = append(rec.Devices, *l.DeviceID)
		}
		slices.Sort(rec.Devices)
		if _, err := journal.Append(tx, site.ID, journal.Refund, strconv.FormatInt(r.ID, 10), rec, now); err != nil {
			return err
		}
		out, err = s.saleView(ctx, tx, sale.ID, false)
		return err
	})
	return out, err
}

// RefundView is a refund as a sale's page says it: when, by whom, why,
// which devices came back and the amount handed back.
type RefundView struct {
	ID          int64
	At          time.Time
	By          string
	Reason      string
	AmountCents int64
	Tags        []string
}

// SaleRefunds lists a sale's refunds, oldest first, for whoever may see
// the sale.
func (s *Service) SaleRefunds(ctx context.Context, c partners.Caller, saleID int64) ([]RefundView, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.saleFor(db, c, saleID); err != nil {
		return nil, err
	}
	var rows []struct {
		ID          int64
		CreatedAt   time.Time
		RefundedBy  string
		Reason      string
		AmountCents int64
	}
	if err := db.Table("refunds r").Select("r.id, r.created_at, COALESCE(u.name, '') AS refunded_by, r.reason, r.amount_cents").
		Joins("LEFT JOIN users u ON u.id = r.user_id").Where("r.sale_id = ?", saleID).Order("r.id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("refunds of sale %d: %w", saleID, err)
	}
	out := make([]RefundView, 0, len(rows))
	index := map[int64]int{}
	for _, r := range rows {
		index[r.ID] = len(out)
		out = append(out, RefundView{ID: r.ID, At: r.CreatedAt, By: r.RefundedBy, Reason: r.Reason, AmountCents: r.AmountCents})
	}
	if len(out) == 0 {
		return out, nil
	}
	var lines []struct {
		RefundID int64
		Tag      string
	}
	if err := db.Table("sale_lines l").Select("l.refund_id, d.tag").Joins("JOIN devices d ON d.id = l.device_id").
		Where("l.sale_id = ? AND l.refund_id IS NOT NULL", saleID).Order("l.id").Scan(&lines).Error; err != nil {
		return nil, fmt.Errorf("refunded lines of sale %d: %w", saleID, err)
	}
	for _, l := range lines {
		if i, ok := index[l.RefundID]; ok {
			out[i].Tags = append(out[i].Tags, l.Tag)
		}
	}
	return out, nil
}
