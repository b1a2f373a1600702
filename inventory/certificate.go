package inventory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/pdfdraw"
	"github.com/tremplin/tremplin/partners"
)

// certRow is one erasure attempt of a device, or its recycling.
type certRow struct {
	EventID  int64
	Tag      string
	Category Category
	Brand    string
	Model    string
	Serial   *string
	IMEI     *string
	Action   string
	At       time.Time
	Data     string
	UserName string
}

type certData struct {
	Method   string `json:"method"`
	Result   string `json:"result"`
	Reason   string `json:"reason"`
	Recycler string `json:"recycler"`
}

// Certificate is an issued erasure certificate: its PDF, kept as issued,
// and what its public page shows.
type Certificate struct {
	ID          int64
	DonationID  int64
	Code        string
	Fingerprint string
	SHA256      string             `gorm:"column:sha256"`
	PDF         []byte             `gorm:"column:pdf"`
	Summary     CertificateSummary `gorm:"serializer:json;type:text"`
	IssuedAt    time.Time
}

func (Certificate) TableName() string { return "erasure_certificates" }

// CertificateSummary is what anyone may read of an issued certificate, on
// its public page: no person, no serial number.
type CertificateSummary struct {
	Network      string              `json:"network"`
	DonationDate string              `json:"donation_date"`
	Devices      []CertificateDevice `json:"devices"`
	Pending      int                 `json:"pending"`
}

// CertificateDevice is one device of a certificate.
type CertificateDevice struct {
	Tag      string   `json:"tag"`
	Category Category `json:"category"`
	// Result is passed, failed or recycled.
	Result       string `json:"result"`
	Method       string `json:"method"`
	Date         string `json:"date"`
	ReportSHA256 string `json:"report_sha256,omitempty"`
}

type certEvidence struct {
	certData
	ReportSHA256 string `json:"report_sha256"`
}

// ErasureCertificate is the document a donor files as proof: every device
// of the donation with its serial or IMEI and each erasure (method, result,
// date, operator), the devices recycled instead, and those still waiting.
// It is issued once and kept: the same bytes on every download until a
// device of the donation changes, then a new issue, with its own
// verification code and a QR code of its public page (base is the address
// people reach Tremplin at).
func (s *Service) ErasureCertificate(ctx context.Context, c partners.Caller, donationID int64, base string) ([]byte, error) {
	d, err := s.donationFor(ctx, c, donationID)
	if err != nil {
		return nil, err
	}
	var rows []certRow
	err = s.db.WithContext(ctx).Table("device_events e").
		Select("d.tag, d.category, d.brand, d.model, d.serial, d.imei, e.id AS event_id, e.action, e.at, e.data, COALESCE(u.name, '') AS user_name").
		Joins("JOIN devices d ON d.id = e.device_id").
		Joins("LEFT JOIN users u ON u.id = e.user_id").
		Where("d.donation_id = ? AND e.action IN ('erase', 'recycle')", d.ID).
		Order("d.tag, e.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("erasures of donation %d: %w", d.ID, err)
	}
	var pending []Device
	err = s.db.WithContext(ctx).Where("donation_id = ? AND erased_at IS NULL AND state NOT IN ?", d.ID, []State{Recycled, Lost}).
		Order("tag").Find(&pending).Error
	if err != nil {
		return nil, fmt.Errorf("devices waiting for erasure: %w", err)
	}
	// What the certificate says, and nothing else, makes its fingerprint:
	// a new erasure, recycling or device makes a new issue.
	fp := sha256.New()
	fmt.Fprintf(fp, "%d|", d.ID)
	for _, r := range rows {
		fmt.Fprintf(fp, "%s|%d|%s|", r.Tag, r.EventID, r.Action)
	}
	for _, p := range pending {
		fmt.Fprintf(fp, "p%s|%s|%s|", p.Tag, p.Brand, p.Model)
	}
	fingerprint := hex.EncodeToString(fp.Sum(nil))
	var kept Certificate
	err = s.db.WithContext(ctx).Where("donation_id = ? AND fingerprint = ?", d.ID, fingerprint).Take(&kept).Error
	if err == nil {
		return kept.PDF, nil
	}
	if !isRecordNotFound(err) {
		return nil, fmt.Errorf("issued certificate of donation %d: %w", d.ID, err)
	}
	cert, err := s.issueCertificate(ctx, d, rows, pending, base)
	if err != nil {
		return nil, err
	}
	cert.Fingerprint = fingerprint
	if err := s.db.WithContext(ctx).Create(&cert).Error; err != nil {
		if database.IsUniqueViolation(err) {
			// Issued by a concurrent download: that one is the certificate.
			if err := s.db.WithContext(ctx).Where("donation_id = ? AND fingerprint = ?", d.ID, fingerprint).Take(&kept).Error; err == nil {
				return kept.PDF, nil
			}
		}
		return nil, fmt.Errorf("keep the certificate of donation %d: %w", d.ID, err)
	}
	err = audit.Record(ctx, s.db.WithContext(ctx), "donation.erasure_certificate", "donation", d.ID,
		map[string]any{"code": cert.Code, "sha256": cert.SHA256})
	return cert.PDF, err
}

// certificateCode is an unguessable verification code: 100 bits, in
// groups a person can read out.
func certificateCode() (string, error) {
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("certificate code: %w", err)
	}
	raw := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:20]
	return raw[:5] + "-" + raw[5:10] + "-" + raw[10:15] + "-" + raw[15:], nil
}

// issueCertificate renders a new issue of a donation's certificate.
func (s *Service) issueCertificate(ctx context.Context, d Donation, rows []certRow, pending []Device, base string) (Certificate, error) {
	view, err := s.donationView(ctx, d)
	if err != nil {
		return Certificate{}, err
	}
	network, err := s.partners.NetworkIdentity(ctx)
	if err != nil {
		return Certificate{}, err
	}
	code, err := certificateCode()
	if err != nil {
		return Certificate{}, err
	}
	issued := s.now()
	loc := time.UTC
	if wh, err := s.partners.Site(ctx, d.WarehouseID); err == nil {
		loc = wh.Location()
	}
	name := network.LegalName
	summary := CertificateSummary{Network: name, DonationDate: d.ReceivedOn, Devices: []CertificateDevice{}, Pending: len(pending)}
	docID := fmt.Sprintf("CERT-%d-%s", d.ID, strings.ReplaceAll(code[:11], "-", ""))
	page := strings.TrimRight(base, "/") + "/certificats/" + code

	fr := i18n.French // a certificate is French whatever the page's language
	doc := pdfdraw.Report(fr.T("Data erasure certificate %s", docID), docID)
	doc.Heading(16, fr.T("Data erasure certificate"))
	top := doc.GetY()
	issuer := fr.T("Issued with Tremplin")
	if name != "" {
		issuer = fr.T("Issued by %s", name)
	}
	doc.Lines(10,
		issuer,
		fr.T("Document no. %s", docID),
		fr.T("Issued on %s at %s (%s)", fr.Date(issued, loc), fr.Clock(issued, loc), loc.String()),
		fr.T("Donation no. %d received on %s at %s", d.ID, fr.ISODate(d.ReceivedOn), view.Warehouse),
		fr.T("Donor: %s", view.Donor),
		fr.T("Devices of the donation: %d", view.TotalDevices),
		fr.T("Verification code: %s", code),
		fr.T("Verifiable at %s", page))
	if err := doc.QR(165, top, 30, page); err != nil {
		return Certificate{}, fmt.Errorf("certificate QR code: %w", err)
	}
	doc.Ln(3)
	doc.Heading(11, fr.T("Erasures"))
	col := func(title string, width float64) pdfdraw.Column {
		return pdfdraw.Column{Title: fr.T(title), Width: width}
	}
	table := doc.NewTable(7.5, col("Tag", 20), col("Device", 36), col("Serial number / IMEI", 34), col("Method", 32), col("Result", 14),
		col("Date", 17), col("Operator", 27))
	erasures, recycled := 0, 0
	for _, r := range rows {
		if r.Action != "erase" {
			continue
		}
		erasures++
		var cd certEvidence
		_ = json.Unmarshal([]byte(r.Data), &cd)
		table.Row(0, r.Tag, r.Brand+" "+r.Model, identifier(r.Serial, r.IMEI), cd.Method,
			strings.ToLower(fr.T("erasure."+cd.Result)), fr.Date(r.At, loc), r.UserName)
		summary.Devices = append(summary.Devices, CertificateDevice{Tag: r.Tag, Category: r.Category, Result: cd.Result, Method: cd.Method,
			Date: r.At.In(loc).Format(time.DateOnly), ReportSHA256: cd.ReportSHA256})
	}
	if erasures == 0 {
		doc.Lines(10, fr.T("No erasure recorded yet."))
	}
	var reports []string
	for _, dv := range summary.Devices {
		if dv.ReportSHA256 != "" {
			reports = append(reports, dv.Tag+" : "+dv.ReportSHA256)
		}
	}
	if len(reports) > 0 {
		doc.Ln(2)
		doc.Lines(8, fr.T("The erasure tool's reports, kept as written (SHA-256 fingerprint):"))
		doc.Lines(7, reports...)
	}
	doc.Ln(3)
	doc.Heading(11, fr.T("Devices recycled (not reused)"))
	for _, r := range rows {
		if r.Action != "recycle" {
			continue
		}
		recycled++
		var cd certData
		_ = json.Unmarshal([]byte(r.Data), &cd)
		line := fr.T("%s — %s %s — %s — recycled on %s: %s", r.Tag, r.Brand, r.Model, identifier(r.Serial, r.IMEI),
			fr.Date(r.At, loc), cd.Reason)
		if cd.Recycler != "" {
			line += " " + fr.T("(recycler: %s)", cd.Recycler)
		}
		doc.Lines(8, line)
		summary.Devices = append(summary.Devices, CertificateDevice{Tag: r.Tag, Category: r.Category, Result: "recycled", Date: r.At.In(loc).Format(time.DateOnly)})
	}
	if recycled == 0 {
		doc.Lines(10, fr.T("None."))
	}
	doc.Ln(3)
	doc.Heading(11, fr.T("Devices waiting for erasure"))
	for _, p := range pending {
		doc.Lines(8, fmt.Sprintf("%s — %s %s — %s", p.Tag, p.Brand, p.Model, identifier(p.Serial, p.IMEI)))
	}
	if len(pending) == 0 {
		doc.Lines(10, fr.T("None: every device of the donation was erased or recycled."))
	}
	doc.Ln(3)
	doc.Lines(8, fr.T("This document's SHA-256 fingerprint is published on its verification page: a copy changed by even one byte does not match it."))
	b, err := doc.Bytes()
	if err != nil {
		return Certificate{}, err
	}
	sum := sha256.Sum256(b)
	return Certificate{DonationID: d.ID, Code: code, SHA256: hex.EncodeToString(sum[:]), PDF: b, Summary: summary, IssuedAt: issued}, nil
}

// PublicCertificate is a certificate as anyone may see it, by its code.
type PublicCertificate struct {
	Code     string             `json:"code"`
	SHA256   string             `json:"sha256"`
	IssuedAt time.Time          `json:"issued_at"`
	Summary  CertificateSummary `json:"summary"`
	// Latest tells whether it is the donation's last issue (a later one
	// says more: erasures done since).
	Latest bool `json:"latest"`
}

// CertificateByCode is the public view of an issued certificate; no
// caller: its code is its key.
func (s *Service) CertificateByCode(ctx context.Context, code string) (PublicCertificate, error) {
	code = strings.ToUpper(strings.TrimSpace(code))
	var c Certificate
	if err := s.db.WithContext(ctx).Omit("pdf").Where("code = ?", code).Take(&c).Error; err != nil {
		return PublicCertificate{}, notFound(err, "certificate %s", code)
	}
	return s.public(ctx, c)
}

func (s *Service) public(ctx context.Context, c Certificate) (PublicCertificate, error) {
	var later int64
	if err := s.db.WithContext(ctx).Model(&Certificate{}).Where("donation_id = ? AND id > ?", c.DonationID, c.ID).Count(&later).Error; err != nil {
		return PublicCertificate{}, fmt.Errorf("later certificates: %w", err)
	}
	return PublicCertificate{Code: c.Code, SHA256: c.SHA256, IssuedAt: c.IssuedAt, Summary: c.Summary, Latest: later == 0}, nil
}

// Verification says whether a file is a certificate Tremplin issued,
// unchanged.
type Verification struct {
	Valid bool `json:"valid"`
	*PublicCertificate
}

// VerifyCertificate tells whether b is, byte for byte, a certificate
// Tremplin issued.
func (s *Service) VerifyCertificate(ctx context.Context, b []byte) (Verification, error) {
	sum := sha256.Sum256(b)
	var c Certificate
	err := s.db.WithContext(ctx).Omit("pdf").Where("sha256 = ?", hex.EncodeToString(sum[:])).Order("id").Take(&c).Error
	if isRecordNotFound(err) {
		return Verification{Valid: false}, nil
	}
	if err != nil {
		return Verification{}, fmt.Errorf("verify certificate: %w", err)
	}
	p, err := s.public(ctx, c)
	if err != nil {
		return Verification{}, err
	}
	return Verification{Valid: true, PublicCertificate: &p}, nil
}

func identifier(serial, imei *string) string {
	var parts []string
	if imei != nil {
		parts = append(parts, "IMEI "+*imei)
	}
	if serial != nil {
		parts = append(parts, *serial)
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " / ")
}

// frenchDate writes a calendar day kept as text the French way.

func isRecordNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
