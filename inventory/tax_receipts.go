package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/money"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// Tax receipt statuses.
const (
	ReceiptIssued    = "issued"
	ReceiptCancelled = "cancelled"
)

// TaxReceipt is the receipt of a donation in kind, for the donor company's
// tax reduction (article 238 bis of the French tax code).
type TaxReceipt struct {
	ID           int64           `json:"id"`
	Number       string          `json:"number"`
	Year         int             `json:"year"`
	Seq          int             `json:"-"`
	DonationID   int64           `json:"donation_id"`
	ValueCents   int64           `json:"value_cents"`
	Valuation    string          `json:"valuation"`
	Status       string          `json:"status"`
	CancelReason string          `json:"cancel_reason,omitempty"`
	CancelledAt  *time.Time      `json:"cancelled_at,omitempty"`
	IssuedAt     time.Time       `json:"issued_at"`
	IssuedBy     *int64          `json:"issued_by"`
	Snapshot     ReceiptSnapshot `json:"-" gorm:"serializer:json;type:text"`
}

// ReceiptSnapshot is what a receipt printed, as it was on the day it was
// issued: a later change of an identity does not change a receipt.
type ReceiptSnapshot struct {
	Network      partners.Network `json:"network"`
	DonorName    string           `json:"donor_name"`
	DonorSIREN   string           `json:"donor_siren"`
	DonorAddress string           `json:"donor_address"`
	DonationDate string           `json:"donation_date"`
	Devices      map[Category]int `json:"devices"`
	Place        string           `json:"place"`
	Zone         string           `json:"zone"`
}

// NewTaxReceipt is the input of IssueTaxReceipt.
type NewTaxReceipt struct {
	ValueCents int64  `json:"value_cents"`
	Valuation  string `json:"valuation"`
}

// Cancellation is the input of CancelTaxReceipt.
type Cancellation struct {
	Reason string `json:"reason"`
}

// maxReceiptCents bounds a receipt's value (ten million euros): a typo of
// a few zeros is caught.
const maxReceiptCents = 1_000_000_000

// IssueTaxReceipt numbers and records the receipt of a donation (admins,
// when the network issues them): one per donation at a time, numbered in
// order per calendar year without gaps, even under concurrent issues and
// several processes: the year's counter is taken in the receipt's own
// transaction, so that a receipt that fails takes no number.
func (s *Service) IssueTaxReceipt(ctx context.Context, c partners.Caller, donationID int64, in NewTaxReceipt) (TaxReceipt, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return TaxReceipt{}, fmt.Errorf("tax receipt: %w", err)
	}
	v := &apperr.ValidationError{}
	if in.ValueCents <= 0 || in.ValueCents > maxReceiptCents {
		v.Field("value_cents", "must be a positive amount in cents, at most %d", int64(maxReceiptCents))
	}
	valuation := strings.TrimSpace(in.Valuation)
	switch {
	case valuation == "":
		v.Field("valuation", "say how the value was reckoned (e.g. the resale value of reconditioned devices of the same grade)")
	case len([]rune(valuation)) > 1000:
		v.Field("valuation", "must be at most 1000 characters")
	}
	if err := v.Err(); err != nil {
		return TaxReceipt{}, err
	}
	network, err := s.partners.NetworkIdentity(ctx)
	if err != nil {
		return TaxReceipt{}, err
	}
	if !network.TaxReceipts {
		return TaxReceipt{}, apperr.Conflict("tax-receipts-off", "the network does not issue tax receipts: an admin turns them on with its legal identity (PATCH /api/v1/network)")
	}
	var r TaxReceipt
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		var d Donation
		if err := tx.Where("id = ?", donationID).Take(&d).Error; err != nil {
			return notFound(err, "donation %d", donationID)
		}
		var donor partners.Organization
		if err := tx.Where("id = ?", d.DonorID).Take(&donor).Error; err != nil {
			return fmt.Errorf("donor of donation %d: %w", d.ID, err)
		}
		if donor.SIREN == nil || *donor.SIREN == "" || strings.TrimSpace(donor.Address) == "" {
			return apperr.Invalid("donor", "%s has no SIREN or no address: set them on the donor before its receipt", donor.Name)
		}
		var open int64
		if err := tx.Model(&TaxReceipt{}).Where("donation_id = ? AND status = ?", d.ID, ReceiptIssued).Count(&open).Error; err != nil {
			return fmt.Errorf("receipts of donation %d: %w", d.ID, err)
		}
		if open > 0 {
			return apperr.Conflict("receipt-exists", "donation %d already has a tax receipt: cancel it first to issue another", d.ID)
		}
		snap, err := s.receiptSnapshot(tx, d, donor, network)
		if err != nil {
			return err
		}
		now := s.now()
		year := now.In(receiptZone(tx, d)).Year()
		seq, err := nextReceiptNumber(tx, year)
		if err != nil {
			return err
		}
		r = TaxReceipt{Number: fmt.Sprintf("%d-%04d", year, seq), Year: year, Seq: seq, DonationID: d.ID, ValueCents: in.ValueCents,
			Valuation: valuation, Status: ReceiptIssued, IssuedAt: now, IssuedBy: c.UserRef(), Snapshot: snap}
		if err := tx.Create(&r).Error; err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("receipt-exists", "donation %d already has a tax receipt: cancel it first to issue another", d.ID)
			}
			return fmt.Errorf("record tax receipt %s: %w", r.Number, err)
		}
		return audit.Record(ctx, tx, "donation.tax_receipt", "donation", d.ID, map[string]any{"number": r.Number, "value_cents": r.ValueCents})
	})
	return r, err
}

// receiptZone is the time zone that says a receipt's year: the donation's
// warehouse's.
func receiptZone(tx *gorm.DB, d Donation) *time.Location {
	if wh, err := partners.SiteIn(tx, d.WarehouseID); err == nil {
		return wh.Location()
	}
	return time.UTC
}

// nextReceiptNumber takes the year's next number: one upsert that locks
// the year's counter row until the transaction ends (PostgreSQL), or runs
// under SQLite's single writer. A rolled-back receipt rolls its number back.
func nextReceiptNumber(tx *gorm.DB, year int) (int, error) {
	var last int
	err := tx.Raw(`INSERT INTO tax_receipt_counters (year, last) VALUES (?, 1)
		ON CONFLICT (year) DO UPDATE SET last = tax_receipt_counters.last + 1 RETURNING last`, year).Scan(&last).Error
	if err != nil || last == 0 {
		return 0, fmt.Errorf("number a tax receipt of %d: %v", year, err)
	}
	return last, nil
}

// receiptSnapshot is what the receipt prints: both identities and the
// devices given, by category.
func (s *Service) receiptSnapshot(tx *gorm.DB, d Donation, donor partners.Organization, network partners.Network) (ReceiptSnapshot, error) {
	snap := ReceiptSnapshot{Network: network, DonorName: donor.Name, DonorSIREN: *donor.SIREN, DonorAddress: donor.Address,
		DonationDate: d.ReceivedOn, Devices: map[Category]int{}}
	var rows []struct {
		Category Category
		N        int
	}
	if err := tx.Table("devices").Select("category, COUNT(*) AS n").Where("donation_id = ?", d.ID).Group("category").Scan(&rows).Error; err != nil {
		return snap, fmt.Errorf("devices of donation %d: %w", d.ID, err)
	}
	for _, r := range rows {
		snap.Devices[r.Category] = r.N
	}
	if wh, err := partners.SiteIn(tx, d.WarehouseID); err == nil {
		snap.Place, snap.Zone = wh.Name, wh.Timezone
	}
	return snap, nil
}

// CancelTaxReceipt cancels a donation's receipt (admins): it keeps its
// number, marked cancelled with the reason; a new receipt then takes a new
// number.
func (s *Service) CancelTaxReceipt(ctx context.Context, c partners.Caller, donationID int64, in Cancellation) (TaxReceipt, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return TaxReceipt{}, fmt.Errorf("tax receipt: %w", err)
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" || len([]rune(reason)) > 1000 {
		return TaxReceipt{}, apperr.Invalid("reason", "say why the receipt is cancelled (at most 1000 characters)")
	}
	var r TaxReceipt
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("donation_id = ? AND status = ?", donationID, ReceiptIssued).Take(&r).Error; err != nil {
			return notFound(err, "tax receipt of donation %d", donationID)
		}
		now := s.now()
		res := tx.Model(&TaxReceipt{}).Where("id = ? AND status = ?", r.ID, ReceiptIssued).
			Updates(map[string]any{"status": ReceiptCancelled, "cancel_reason": reason, "cancelled_at": now})
		if res.Error != nil {
			return fmt.Errorf("cancel tax receipt %s: %w", r.Number, res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("invalid-transition", "tax receipt %s was cancelled meanwhile", r.Number)
		}
		r.Status, r.CancelReason, r.CancelledAt = ReceiptCancelled, reason, &now
		return audit.Record(ctx, tx, "donation.tax_receipt_cancel", "donation", donationID, map[string]any{"number": r.Number, "reason": reason})
	})
	return r, err
}

// TaxReceipts lists a donation's receipts, the issued one and those
// cancelled, newest first (admins).
func (s *Service) TaxReceipts(ctx context.Context, c partners.Caller, donationID int64) ([]TaxReceipt, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return nil, err
	}
	out := []TaxReceipt{}
	if err := s.db.WithContext(ctx).Where("donation_id = ?", donationID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("tax receipts of donation %d: %w", donationID, err)
	}
	return out, nil
}

// TaxReceiptPDF prints a donation's receipt: the one issued, else the last
// one cancelled (marked so). The content follows the official receipt for
// companies' donations (Cerfa n° 16216). French only, A4.
func (s *Service) TaxReceiptPDF(ctx context.Context, c partners.Caller, donationID int64) ([]byte, TaxReceipt, error) {
	rs, err := s.TaxReceipts(ctx, c, donationID)
	if err != nil {
		return nil, TaxReceipt{}, err
	}
	if len(rs) == 0 {
		return nil, TaxReceipt{}, fmt.Errorf("tax receipt of donation %d: %w", donationID, apperr.ErrNotFound)
	}
	r := rs[0]
	for _, x := range rs {
		if x.Status == ReceiptIssued {
			r = x
			break
		}
	}
	b, err := receiptPDF(r)
	return b, r, err
}

// givenWords say a count of devices of a category, in plural forms.
var givenWords = map[Category]string{Smartphone: "%d smartphones", FeaturePhone: "%d feature phones", Laptop: "%d laptops",
	Tablet: "%d tablets", Desktop: "%d desktop computers", Other: "%d accessories"}

// receiptPDF draws the receipt of the French tax code's form (cerfa
// 16216), in French whatever the page's language.
func receiptPDF(r TaxReceipt) ([]byte, error) {
	fr := i18n.French
	n, sn := r.Snapshot.Network, r.Snapshot
	doc := pdfdraw.Report(fr.T("Tax receipt no. %s", r.Number), fr.T("Receipt no. %s — %s", r.Number, n.LegalName))
	doc.Heading(13, fr.T("Receipt for donations and payments made by companies under article 238 bis of the French general tax code"))
	doc.Lines(10, fr.T("Receipt no. %s (order number)", r.Number))
	if r.Status == ReceiptCancelled {
		doc.Heading(14, fr.T("RECEIPT CANCELLED: %s", r.CancelReason))
	}
	doc.Ln(2)
	doc.Heading(11, fr.T("Beneficiary of the donations"))
	lines := []string{fr.T("Name: %s", n.LegalName), fr.T("SIREN no.: %s", n.SIREN)}
	if n.RNA != "" {
		lines = append(lines, fr.T("RNA no.: %s", n.RNA))
	}
	lines = append(lines, fr.T("Address: %s", n.Address))
	if n.Purpose != "" {
		lines = append(lines, fr.T("Purpose: %s", n.Purpose))
	}
	doc.Lines(10, lines...)
	doc.Ln(2)
	doc.Heading(11, fr.T("Donor company"))
	doc.Lines(10, fr.T("Name: %s", sn.DonorName), fr.T("SIREN no.: %s", sn.DonorSIREN), fr.T("Address: %s", sn.DonorAddress))
	doc.Ln(2)
	doc.Heading(11, fr.T("The donation"))
	var given []string
	for _, cat := range Categories {
		if k := int64(sn.Devices[cat]); k > 0 {
			given = append(given, fr.TN(k, givenWords[cat], k))
		}
	}
	what := fr.T("computer and telephone equipment")
	if len(given) > 0 {
		what = fr.T("%s: %s", what, strings.Join(given, ", "))
	}
	doc.Lines(10,
		fr.T("The beneficiary acknowledges having received, as donations giving a right to a tax reduction, a donation in kind of a value of:"),
		fr.Money(r.ValueCents)+" ("+money.FrenchWords(r.ValueCents)+")",
		fr.T("Date of the donation: %s", fr.ISODate(sn.DonationDate)),
		fr.T("Form of the donation: donation in kind"),
		fr.T("Nature of the donation: %s", what),
		fr.T("Valuation method: %s", r.Valuation))
	doc.Ln(3)
	doc.Lines(10, fr.T("The beneficiary certifies on its honour that the donations it receives give a right to the tax reduction of article 238 bis of the French general tax code."))
	doc.Ln(3)
	place := sn.Place
	if place == "" {
		place = n.Address
	}
	loc, err := time.LoadLocation(sn.Zone)
	if err != nil || sn.Zone == "" {
		loc = time.UTC
	}
	doc.Lines(10, fr.T("Done at %s, on %s, for %s.", place, fr.Date(r.IssuedAt, loc), n.LegalName), "", fr.T("Signature:"))
	return doc.Bytes()
}

// IssuedReceipts are the receipts issued (not cancelled) for donations, by
// donation (admins).
func (s *Service) IssuedReceipts(ctx context.Context, c partners.Caller, donationIDs []int64) (map[int64]TaxReceipt, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return nil, err
	}
	out := map[int64]TaxReceipt{}
	if len(donationIDs) == 0 {
		return out, nil
	}
	var rs []TaxReceipt
	if err := s.db.WithContext(ctx).Omit("snapshot").Where("donation_id IN ? AND status = ?", donationIDs, ReceiptIssued).Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("issued tax receipts: %w", err)
	}
	for _, r := range rs {
		out[r.DonationID] = r
	}
	return out, nil
}
