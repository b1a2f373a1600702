package distribution

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// VoucherPDF renders a voucher to print or to send as a photo: A4 or A6.
func (s *Service) VoucherPDF(ctx context.Context, c partners.Caller, raw, format string) ([]byte, error) {
	if format == "" {
		format = "a4"
	}
	if format != "a4" && format != "a6" {
		return nil, apperr.Invalid("format", "must be a4 or a6")
	}
	db := s.db.WithContext(ctx)
	vo, err := s.voucherFor(db, c, raw)
	if err != nil {
		return nil, err
	}
	view, err := s.fullView(db, vo)
	if err != nil {
		return nil, err
	}
	var org, spaces = partners.Organization{}, []partners.Organization{}
	if err := db.Where("id = ?", vo.OrganizationID).Take(&org).Error; err != nil {
		return nil, fmt.Errorf("voucher organisation: %w", err)
	}
	if err := db.Where("kind = ? AND active = ?", partners.KindSpace, true).Order("name").Find(&spaces).Error; err != nil {
		return nil, fmt.Errorf("spaces: %w", err)
	}
	var person struct{ PostalCode *string }
	if err := db.Table("beneficiaries").Select("postal_code").Where("id = ?", vo.BeneficiaryID).Take(&person).Error; err != nil {
		return nil, fmt.Errorf("voucher person: %w", err)
	}
	near := departementOf(org.Address)
	if person.PostalCode != nil && *person.PostalCode != "" {
		near = departement(*person.PostalCode)
	}
	spaces = NearestSpaces(spaces, org.Timezone, near)
	b, err := RenderVoucher(view, org, spaces, format, s.now())
	if err != nil {
		return nil, err
	}
	return b, audit.Record(ctx, db, "voucher.print", "voucher", vo.ID, map[string]any{"format": format})
}

// NearestSpaces are the spaces a person can reach: those of the
// prescriber's territory (its time zone: La Réunion's spaces are not
// Montreuil's), those of the person's département first. A network whose
// spaces are all elsewhere lists them all rather than none.
func NearestSpaces(spaces []partners.Organization, timezone, departementNear string) []partners.Organization {
	var here []partners.Organization
	for _, sp := range spaces {
		if sp.Timezone == timezone {
			here = append(here, sp)
		}
	}
	if len(here) == 0 {
		here = spaces
	}
	slices.SortStableFunc(here, func(a, b partners.Organization) int {
		ai, bi := departementOf(a.Address) == departementNear, departementOf(b.Address) == departementNear
		switch {
		case ai == bi:
			return 0
		case ai:
			return -1
		}
		return 1
	})
	return here
}

var postal = regexp.MustCompile(`\b(\d{5})\b`)

// departementOf is the département of the first postal code in an
// address, or "".
func departementOf(address string) string {
	if m := postal.FindStringSubmatch(address); m != nil {
		return departement(m[1])
	}
	return ""
}

// departement is a postal code's département: two digits, three overseas
// (974 for La Réunion).
func departement(code string) string {
	code = strings.TrimSpace(code)
	switch {
	case len(code) >= 3 && (strings.HasPrefix(code, "97") || strings.HasPrefix(code, "98")):
		return code[:3]
	case len(code) >= 2:
		return code[:2]
	}
	return ""
}

// RenderVoucher lays out one voucher: the code large, as Code 128 (for USB
// scanners) and QR (for phones), the person's first name, what it entitles
// to, until when, who issued it, where to go, and what to do, in plain French.
func RenderVoucher(v VoucherView, org partners.Organization, spaces []partners.Organization, format string, now time.Time) ([]byte, error) {
	w, h, scale := 210.0, 297.0, 1.0
	if format == "a6" {
		w, h, scale = 105, 148, 0.5
	}
	fr := i18n.French // a voucher is French whatever the page's language
	doc := pdfdraw.New(w, h)
	doc.SetTitle(fr.T("Tremplin voucher %s", v.Code), true)
	m := 15 * scale
	if format == "a6" {
		m = 7
	}
	doc.SetMargins(m, m, m)
	doc.SetAutoPageBreak(true, m)
	doc.AddPage()
	inner := w - 2*m
	sz := func(pt float64) float64 { return pt * (0.55 + 0.45*scale) }

	doc.SetFont(pdfdraw.Regular, "B", sz(20))
	doc.CellFormat(inner, 10*scale+2, fr.T("Tremplin voucher"), "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "B", sz(14))
	first := ""
	if v.Beneficiary != nil {
		first = v.Beneficiary.FirstName
	}
	doc.MultiCell(inner, 6*scale+2, pdfdraw.Clean(fr.T("For: %s", first)), "", "L", false)
	doc.Ln(2 * scale)

	// The code, large, then its barcodes.
	doc.SetFont(pdfdraw.Mono, "B", sz(26))
	doc.CellFormat(inner, 12*scale+3, v.Code, "", 1, "C", false, 0, "")
	y := doc.GetY() + 1
	barH := 16*scale + 4
	qr := 38*scale + 6
	barW := inner - qr - 4
	if _, err := doc.Code128(m, y, barW, barH, v.Code, 300); err != nil {
		return nil, err
	}
	if err := doc.QR(m+inner-qr, y-2, qr, v.Code); err != nil {
		return nil, err
	}
	doc.SetY(y + qr)

	doc.SetFont(pdfdraw.Regular, "B", sz(12))
	doc.MultiCell(inner, 6*scale+1.5, pdfdraw.Clean(entitlementText(v)), "", "L", false)
	doc.SetFont(pdfdraw.Regular, "", sz(11))
	doc.MultiCell(inner, 5.5*scale+1.5, pdfdraw.Clean(fr.T("Valid until %s inclusive.", fr.ISODate(v.ValidUntil))), "", "L", false)
	doc.MultiCell(inner, 5.5*scale+1.5, pdfdraw.Clean(fr.T("Issued by: %s", org.Name+addr(org.Address))), "", "L", false)
	doc.Ln(3 * scale)

	doc.SetFont(pdfdraw.Regular, "B", sz(12))
	doc.CellFormat(inner, 6*scale+1.5, fr.T("What to do?"), "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "", sz(10.5))
	for _, line := range []string{
		"1. Come to one of the spaces below with this voucher, printed or as a photo on your phone.",
		"2. The team reads the code. You choose your device or your recharge.",
		"3. You pay the solidarity price (or nothing, if so planned). Keep your receipt: it is your warranty.",
		"This voucher is personal. If you lose it, ask the person who gave it to you for a new one.",
	} {
		doc.MultiCell(inner, 5*scale+1.5, pdfdraw.Clean(fr.T(line)), "", "L", false)
	}
	doc.Ln(2 * scale)
	doc.SetFont(pdfdraw.Regular, "B", sz(12))
	doc.CellFormat(inner, 6*scale+1.5, fr.T("Where to go?"), "", 1, "L", false, 0, "")
	doc.SetFont(pdfdraw.Regular, "", sz(10))
	for _, sp := range spaces {
		doc.MultiCell(inner, 4.5*scale+1.5, pdfdraw.Clean("• "+sp.Name+addr(sp.Address)), "", "L", false)
	}
	doc.SetFont(pdfdraw.Regular, "", sz(7))
	doc.MultiCell(inner, 3.5*scale+1, pdfdraw.Clean(fr.T("Printed on %s — Tremplin", fr.Date(now, org.Location()))), "", "R", false)
	if word, ok := voidWords[v.Status]; ok {
		// A voucher that no longer holds says so across the page, so that a
		// reprint is never taken for a valid one.
		doc.SetPage(1)
		doc.SetAlpha(0.35, "Normal")
		doc.SetTextColor(200, 0, 0)
		doc.SetFont(pdfdraw.Regular, "B", sz(72))
		doc.TransformBegin()
		doc.TransformRotate(35, w/2, h/2)
		word = fr.T(word)
		doc.TextAt(w/2-doc.GetStringWidth(word)/2, h/2, word)
		doc.TransformEnd()
		doc.SetAlpha(1, "Normal")
		doc.SetFont(pdfdraw.Regular, "B", sz(12))
		doc.SetXY(m, m+10*scale+2)
		doc.MultiCell(inner, 6*scale+1.5, pdfdraw.Clean(fr.T("This voucher is no longer valid: %s.", fr.T(voidReasons[v.Status]))), "", "R", false)
		doc.SetTextColor(0, 0, 0)
	}
	return doc.Bytes()
}

// voidWords are printed across a voucher that no longer holds.
var voidWords = map[string]string{StatusRevoked: "REVOKED", StatusExpired: "EXPIRED", StatusUsed: "USED UP"}

var voidReasons = map[string]string{StatusRevoked: "it was revoked", StatusExpired: "its validity date has passed",
	StatusUsed: "it was used up"}

func entitlementText(v VoucherView) string {
	fr := i18n.French
	var parts []string
	if n := int64(v.Remaining.Devices); n > 0 {
		var cats []string
		for _, c := range v.DeviceCategories {
			cats = append(cats, strings.ToLower(fr.T("category."+c))) // the pages' names
		}
		parts = append(parts, fr.TN(n, "%d devices (%s)", n, strings.Join(cats, ", ")))
	}
	if n := int64(v.Remaining.Recharges); n > 0 {
		parts = append(parts, fr.TN(n, "%d phone or internet recharges", n))
	}
	switch len(parts) {
	case 0:
		return fr.T("This voucher has been used up.")
	case 2:
		return fr.T("This voucher entitles to: %s.", fr.T("%s and %s", parts[0], parts[1]))
	}
	return fr.T("This voucher entitles to: %s.", parts[0])
}

func addr(a string) string {
	if a == "" {
		return ""
	}
	return ", " + a
}
