package distribution

import (
	"bytes"

	"context"
	"fmt"

	"codeberg.org/go-pdf/fpdf"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// Receipt renders a sale's receipt for an 80 mm thermal printer or A4: site,
// local date and time, seller, items with prices and face values, total,
// payment, the voucher's remaining entitlements, each recharge's serial and
// PIN with how to use it, and the warranty. Every print is audited; all but
// the first say "DUPLICATA".
func (s *Service) Receipt(ctx context.Context, c partners.Caller, saleID int64, format string) ([]byte, error) {
	if format == "" {
		format = "80mm"
	}
	if format != "80mm" && format != "a4" {
		return nil, apperr.Invalid("format", "must be 80mm or a4")
	}
	db := s.db.WithContext(ctx)
	sale, err := s.saleFor(db, c, saleID)
	if err != nil {
		return nil, err
	}
	view, err := s.saleView(ctx, db, sale.ID, true)
	if err != nil {
		return nil, err
	}
	var site partners.Organization
	if err := db.Where("id = ?", sale.SiteID).Take(&site).Error; err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	seller := ""
	if sale.SellerID != nil {
		db.Table("users").Select("name").Where("id = ?", *sale.SellerID).Scan(&seller)
	}
	res := db.Model(&Sale{}).Where("id = ?", sale.ID).Update("receipt_prints", sale.ReceiptPrints+1)
	if res.Error != nil {
		return nil, fmt.Errorf("count prints: %w", res.Error)
	}
	duplicate := sale.ReceiptPrints > 0
	if err := audit.Record(ctx, db, "sale.receipt", "sale", sale.ID, map[string]any{"format": format, "duplicate": duplicate}); err != nil {
		return nil, err
	}

	h, signed, err := handoverOf(db, sale.ID)
	if err != nil {
		return nil, err
	}
	var ho *saleHandover
	if signed {
		ho = &h
	}
	if format == "a4" {
		return s.drawReceipt(view, sale, site, seller, duplicate, ho, 210, 297, 15).Bytes()
	}
	// A thermal roll is cut after the text: measure on a long page, then
	// draw again on a page exactly that long.
	measured := s.drawReceipt(view, sale, site, seller, duplicate, ho, 80, 2000, 4)
	return s.drawReceipt(view, sale, site, seller, duplicate, ho, 80, measured.GetY()+8, 4).Bytes()
}

// drawReceipt lays a receipt out on a page w × h mm with margin m.
func (s *Service) drawReceipt(view SaleView, sale Sale, site partners.Organization, seller string, duplicate bool, ho *saleHandover, w, h, m float64) *pdfdraw.Doc {
	doc := pdfdraw.New(w, h)
	fr := i18n.French // a receipt is French whatever the counter's language
	doc.SetTitle(fr.T("Receipt %d", sale.ID), true)
	doc.SetMargins(m, m, m)
	doc.SetAutoPageBreak(true, m)
	doc.AddPage()
	inner := w - 2*m
	line := func(style string, size float64, align string, text string) {
		doc.SetFont(pdfdraw.Regular, style, size)
		doc.MultiCell(inner, size*0.45+0.8, pdfdraw.Clean(text), "", align, false)
	}
	if duplicate {
		line("B", 14, "C", fr.T("DUPLICATE"))
	}
	line("B", 12, "C", site.Name)
	if site.Address != "" {
		line("", 8, "C", site.Address)
	}
	line("", 8, "C", fr.T("Receipt no. %d — %s", sale.ID, fr.DateTime(sale.CreatedAt, site.Location())))
	if seller != "" {
		line("", 8, "C", fr.T("Seller: %s", seller))
	}
	doc.Ln(2)
	for _, it := range view.Items {
		label := it.Description
		if it.Tag != "" {
			label += " (" + it.Tag + ")"
		}
		line("B", 9, "L", label)
		detail := fr.T("Solidarity price: %s", fr.Money(it.PriceCents))
		if it.Quantity > 1 {
			detail = fmt.Sprintf("%d × %s = %s", it.Quantity, fr.Money(it.PriceCents), fr.Money(int64(it.Quantity)*it.PriceCents))
		}
		if it.Refunded > 0 {
			detail += " — " + fr.TN(int64(it.Refunded), "%d brought back", it.Refunded)
		}
		if it.FaceValueCents != nil {
			detail += " — " + fr.T("value %s", fr.Money(*it.FaceValueCents))
		}
		line("", 8.5, "L", detail)
		if it.Serial != "" {
			line("", 8.5, "L", fr.T("Serial number: %s", it.Serial))
		}
		if it.PIN != "" {
			doc.SetFont(pdfdraw.Mono, "B", 13)
			doc.MultiCell(inner, 7, fr.T("Code: %s", it.PIN), "", "L", false)
			line("", 7.5, "L", fr.T("To top up: dial the code from your phone or follow the operator's instructions. Valid until %s.", fr.ISODate(it.ExpiresOn)))
		}
		if it.RefundID != nil {
			line("", 8, "L", fr.T("action.refund"))
		}
		doc.Ln(1.5)
	}
	line("B", 11, "R", fr.T("Total: %s", fr.Money(view.TotalCents)))
	line("", 8.5, "R", fr.T("Payment: %s", fr.T("pay."+sale.PaymentMethod)))
	doc.Ln(2)
	line("", 8, "L", fr.T("Voucher %s: %s left.", view.Voucher.Code, fr.Allowance(int64(view.Voucher.Remaining.Devices), int64(view.Voucher.Remaining.Recharges))))
	for _, it := range view.Items {
		if it.Kind == "device" {
			line("", 7.5, "L", fr.TN(int64(s.policy.WarrantyMonths), "Warranty: %d months. If it breaks down, bring the device back with this receipt to a Tremplin space.", s.policy.WarrantyMonths))
			break
		}
	}
	if ho != nil {
		// The conditions the person accepted, and their signature.
		doc.Ln(2)
		line("B", 9, "L", fr.T("Handing over the device"))
		if ho.Conditions != "" {
			line("", 7.5, "L", ho.Conditions)
		}
		switch {
		case len(ho.SignaturePNG) > 0:
			line("", 7.5, "L", fr.T("The person's signature:"))
			name := fmt.Sprintf("signature-%d", sale.ID)
			info := doc.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(ho.SignaturePNG))
			if doc.Ok() && info != nil && info.Width() > 0 {
				sw := min(inner, 50.0)
				sh := sw * info.Height() / info.Width()
				doc.ImageOptions(name, doc.GetX(), doc.GetY(), sw, sh, true, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
			}
		case ho.OnPaper:
			line("", 7.5, "L", fr.T("Signed on paper."))
		default:
			line("", 7.5, "L", fr.T("Signature erased with the person's data."))
		}
		doc.Ln(1)
	}
	line("", 7, "C", fr.T("Thank you, and see you soon!"))
	return doc
}
