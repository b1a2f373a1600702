package distribution

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/textcheck"
	"github.com/tremplin/tremplin/partners"
)

// NewBeneficiary is the input of CreateBeneficiary.
type NewBeneficiary struct {
	FirstName  string  `json:"first_name"`
	LastName   string  `json:"last_name"`
	BirthYear  *int    `json:"birth_year"`
	PostalCode *string `json:"postal_code"`
	// Phone (a French or overseas mobile) and Email reach the person, for
	// their voucher's code by SMS or email: only with ContactConsent.
	Phone          *string `json:"phone"`
	Email          *string `json:"email"`
	ContactConsent bool    `json:"contact_consent"`
	// OrganizationID is for admins, who belong to no organisation.
	OrganizationID *int64 `json:"organization_id"`
}

// BeneficiaryView is a beneficiary with hints of people already recorded
// under the same name and birth year in the organisation.
type BeneficiaryView struct {
	Beneficiary
	PossibleDuplicates []int64 `json:"possible_duplicates,omitempty"`
}

var postalCode = regexp.MustCompile(`^[0-9]{5}$`)

// nameKey folds a name for duplicate hints and search: no case, no
// accents, letters only, and a letter of another script that looks like a
// Latin one read as that one (Unicode's confusables, UTS #39: a Cyrillic
// « Аїcha » is Aïcha recorded twice). Latin letters are kept as they are,
// so that the keys already stored stay right.
func nameKey(first, last string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(latinLookalikes(strings.ToLower(first + "|" + last))) {
		if unicode.IsLetter(r) || r == '|' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// latinLookalikes replaces each letter outside the Latin script by the
// Latin letters it is confusable with, when there are such.
func latinLookalikes(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < utf8.RuneSelf || unicode.Is(unicode.Latin, r) || !unicode.IsLetter(r) {
			b.WriteRune(r)
			continue
		}
		sk := strings.ToLower(confusables.Skeleton(string(r)))
		latin := sk != "" && strings.IndexFunc(sk, func(c rune) bool {
			return !(c < utf8.RuneSelf && unicode.IsLetter(c) || unicode.Is(unicode.Latin, c) || unicode.Is(unicode.Mn, c))
		}) < 0
		if latin {
			b.WriteString(sk)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CreateBeneficiary records a person for the caller's prescriber organisation.
func (s *Service) CreateBeneficiary(ctx context.Context, c partners.Caller, in NewBeneficiary) (BeneficiaryView, error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return BeneficiaryView{}, err
	}
	v := &apperr.ValidationError{}
	org, err := s.checkBeneficiary(ctx, c, &in, v)
	if err != nil {
		return BeneficiaryView{}, err
	}
	if err := v.Err(); err != nil {
		return BeneficiaryView{}, err
	}
	var view BeneficiaryView
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		view, err = s.createBeneficiary(tx, c, org, in)
		return err
	})
	return view, err
}

// CheckNewPerson checks the prescriber's one form, the person and the
// voucher, without writing anything: every problem at once.
func (s *Service) CheckNewPerson(ctx context.Context, c partners.Caller, person NewBeneficiary, voucher NewVoucher) error {
	_, err := s.checkNewPerson(ctx, c, &person, voucher)
	return err
}

func (s *Service) checkNewPerson(ctx context.Context, c partners.Caller, person *NewBeneficiary, voucher NewVoucher) (int64, error) {
	if err := c.Require(IssuerRoles...); err != nil {
		return 0, err
	}
	v := &apperr.ValidationError{}
	org, err := s.checkBeneficiary(ctx, c, person, v)
	if err != nil {
		return 0, err
	}
	var vv *apperr.ValidationError
	if err := CheckVoucherInput(voucher); errors.As(err, &vv) {
		v.Errors = append(v.Errors, vv.Errors...)
	}
	return org, v.Err()
}

// IssueToNewPerson records a person and issues their voucher at once, the
// prescriber's one form: every problem with either part is reported
// together, and either both are written or neither.
func (s *Service) IssueToNewPerson(ctx context.Context, c partners.Caller, person NewBeneficiary, voucher NewVoucher) (VoucherView, error) {
	org, err := s.checkNewPerson(ctx, c, &person, voucher)
	if err != nil {
		return VoucherView{}, err
	}
	var out VoucherView
	err = s.inTx(ctx, func(tx *gorm.DB) error {
		b, err := s.createBeneficiary(tx, c, org, person)
		if err != nil {
			return err
		}
		cats := slices.Clone(voucher.DeviceCategories)
		if cats == nil {
			cats = []string{}
		}
		out, err = s.issue(tx, c, b.Beneficiary, cats, voucher.Devices, voucher.Recharges, voucher.ValidDays, nil)
		if err == nil && voucher.Notify {
			err = s.tellVoucher(tx, b.Beneficiary, out)
		}
		return err
	})
	return out, err
}

// checkBeneficiary checks a new person's fields into v (trimming them) and
// returns the organisation they will belong to.
func (s *Service) checkBeneficiary(ctx context.Context, c partners.Caller, in *NewBeneficiary, v *apperr.ValidationError) (int64, error) {
	org := c.OrganizationID
	if c.IsAdmin() {
		if in.OrganizationID == nil {
			v.Field("organization_id", "is required for an admin: the prescriber organisation the person is followed by")
		} else if o, err := s.partners.GetOrganization(ctx, c, *in.OrganizationID); errors.Is(err, apperr.ErrNotFound) || (err == nil && o.Kind != partners.KindPrescriber) {
			v.Field("organization_id", "no prescriber organisation has id %d", *in.OrganizationID)
		} else if err != nil {
			return 0, err
		} else {
			org = o.ID
		}
	}
	in.FirstName, in.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	for _, f := range []struct{ name, val string }{{"first_name", in.FirstName}, {"last_name", in.LastName}} {
		switch {
		case f.val == "":
			v.Field(f.name, "is required")
		case len([]rune(f.val)) > 100:
			v.Field(f.name, "must be at most 100 characters")
		case !textcheck.CleanName(f.val):
			v.Field(f.name, textcheck.NameMessage)
		}
	}
	year := s.now().Year()
	if in.BirthYear != nil && (*in.BirthYear < 1900 || *in.BirthYear > year) {
		v.Field("birth_year", "must be between 1900 and %d", year)
	}
	if in.PostalCode != nil {
		pc := strings.TrimSpace(*in.PostalCode)
		switch {
		case pc == "":
			in.PostalCode = nil
		case !postalCode.MatchString(pc):
			v.Field("postal_code", "must be 5 digits, such as 93100 or 97420")
		default:
			in.PostalCode = &pc
		}
	}
	if in.Phone != nil {
		switch p := strings.TrimSpace(*in.Phone); {
		case p == "":
			in.Phone = nil
		default:
			if e164, err := notify.MobileE164(p); err != nil {
				v.Field("phone", "must be a French or overseas mobile number, such as 06 12 34 56 78 or 0692 12 34 56")
			} else {
				in.Phone = &e164
			}
		}
	}
	if in.Email != nil {
		switch e := strings.TrimSpace(*in.Email); {
		case e == "":
			in.Email = nil
		default:
			if addr, err := notify.EmailAddress(e); err != nil {
				v.Field("email", "must be an email address, such as prenom.nom@example.org")
			} else {
				in.Email = &addr
			}
		}
	}
	if (in.Phone != nil || in.Email != nil) && !in.ContactConsent {
		v.Field("contact_consent", "is required to keep a phone number or an email: the person agrees to be sent their voucher's code")
	}
	if in.Phone == nil && in.Email == nil {
		in.ContactConsent = false
	}
	return org, nil
}

// createBeneficiary writes a checked person, with the duplicate hints.
func (s *Service) createBeneficiary(tx *gorm.DB, c partners.Caller, org int64, in NewBeneficiary) (BeneficiaryView, error) {
	now := s.now()
	b := Beneficiary{OrganizationID: org, FirstName: in.FirstName, LastName: in.LastName, NameKey: nameKey(in.FirstName, in.LastName),
		BirthYear: in.BirthYear, PostalCode: in.PostalCode, Phone: in.Phone, Email: in.Email, ContactConsent: in.ContactConsent,
		CreatedBy: c.UserRef(), CreatedAt: now, LastActivityAt: now}
	view := BeneficiaryView{}
	q := tx.Model(&Beneficiary{}).Where("organization_id = ? AND name_key = ? AND anonymised_at IS NULL", org, b.NameKey)
	if b.BirthYear != nil {
		q = q.Where("birth_year = ? OR birth_year IS NULL", *b.BirthYear)
	}
	if err := q.Pluck("id", &view.PossibleDuplicates).Error; err != nil {
		return view, fmt.Errorf("duplicate hints: %w", err)
	}
	if err := tx.Create(&b).Error; err != nil {
		return view, fmt.Errorf("create beneficiary: %w", err)
	}
	view.Beneficiary = b
	return view, audit.Record(tx.Statement.Context, tx, "beneficiary.create", "beneficiary", b.ID, nil)
}

// beneficiaryFor loads a beneficiary of the caller's organisation.
func (s *Service) beneficiaryFor(db *gorm.DB, c partners.Caller, id int64) (Beneficiary, error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return Beneficiary{}, err
	}
	var b Beneficiary
	if err := db.Scopes(ownOrganization(c)).Where("id = ?", id).Take(&b).Error; err != nil {
		return b, notFound(err, "beneficiary %d", id)
	}
	return b, nil
}

// GetBeneficiary returns a beneficiary of the caller's organisation; the read is audited.
func (s *Service) GetBeneficiary(ctx context.Context, c partners.Caller, id int64) (Beneficiary, error) {
	b, err := s.beneficiaryFor(s.db.WithContext(ctx), c, id)
	if err != nil {
		return b, err
	}
	return b, audit.Record(ctx, s.db.WithContext(ctx), "beneficiary.read", "beneficiary", id, nil)
}

// ListBeneficiaries lists the caller organisation's beneficiaries; q searches names.
func (s *Service) ListBeneficiaries(ctx context.Context, c partners.Caller, q string, p paging.Page) (paging.List[Beneficiary], error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return paging.List[Beneficiary]{}, err
	}
	db := s.db.WithContext(ctx).Scopes(ownOrganization(c)).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	if q = strings.TrimSpace(q); q != "" {
		key := nameKey(q, "")
		key = strings.TrimSuffix(key, "|")
		db = db.Where("name_key LIKE ?", "%"+key+"%")
	}
	var out []Beneficiary
	if err := db.Find(&out).Error; err != nil {
		return paging.List[Beneficiary]{}, fmt.Errorf("list beneficiaries: %w", err)
	}
	return paging.New(out, p, func(b Beneficiary) int64 { return b.ID }), nil
}

// Export is everything Tremplin holds about a person (right of access).
type Export struct {
	Beneficiary Beneficiary    `json:"beneficiary"`
	Vouchers    []VoucherView  `json:"vouchers"`
	AccessLog   []AccessRecord `json:"access_log"`
	GeneratedAt time.Time      `json:"generated_at"`
}

// AccessRecord is one read or change of the person's data.
type AccessRecord struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	User   string    `json:"user"`
}

// ExportBeneficiary gathers a person's record, vouchers and who accessed them.
func (s *Service) ExportBeneficiary(ctx context.Context, c partners.Caller, id int64) (Export, error) {
	db := s.db.WithContext(ctx)
	b, err := s.beneficiaryFor(db, c, id)
	if err != nil {
		return Export{}, err
	}
	out := Export{Beneficiary: b, Vouchers: []VoucherView{}, AccessLog: []AccessRecord{}, GeneratedAt: s.now()}
	var vs []Voucher
	if err := db.Where("beneficiary_id = ?", id).Order("id").Find(&vs).Error; err != nil {
		return out, fmt.Errorf("vouchers of beneficiary %d: %w", id, err)
	}
	ids := []string{}
	for _, v := range vs {
		out.Vouchers = append(out.Vouchers, s.view(v, nil, nil))
		ids = append(ids, fmt.Sprint(v.ID))
	}
	// Only the rows about this person and their vouchers: a failed lookup
	// names no voucher (its entity_id is empty) and belongs to nobody's
	// export; "IN ('')" once filled every export with the network's.
	q := db.Table("audit_log a").Select("a.at, a.action, COALESCE(u.name, '') AS user").
		Joins("LEFT JOIN users u ON u.id = a.user_id")
	if len(ids) == 0 {
		q = q.Where("a.entity = 'beneficiary' AND a.entity_id = ?", fmt.Sprint(id))
	} else {
		q = q.Where("(a.entity = 'beneficiary' AND a.entity_id = ?) OR (a.entity = 'voucher' AND a.entity_id IN ?)", fmt.Sprint(id), ids)
	}
	if err := q.Order("a.id").Scan(&out.AccessLog).Error; err != nil {
		return out, fmt.Errorf("access log of beneficiary %d: %w", id, err)
	}
	return out, audit.Record(ctx, db, "beneficiary.export", "beneficiary", id, nil)
}

// Anonymise drops the names of beneficiaries with no activity since before,
// keeping what statistics need (birth year, département). It returns how many.
func (s *Service) Anonymise(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	now := s.now()
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE beneficiaries SET first_name = '', last_name = '', name_key = '', phone = NULL, email = NULL, contact_consent = FALSE,
			postal_code = CASE WHEN postal_code LIKE '97%' OR postal_code LIKE '98%' THEN substr(postal_code, 1, 3) ELSE substr(postal_code, 1, 2) END,
			anonymised_at = ?
			WHERE anonymised_at IS NULL AND last_activity_at < ?
			AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.beneficiary_id = beneficiaries.id AND v.status = 'active' AND v.expires_at > ?)`,
			now, before, now)
		if res.Error != nil {
			return fmt.Errorf("anonymise: %w", res.Error)
		}
		n = res.RowsAffected
		if n == 0 {
			return nil
		}
		// What their messages said and where they went goes too.
		if err := notify.Erase(tx, `SELECT id FROM beneficiaries WHERE anonymised_at IS NOT NULL`); err != nil {
			return err
		}
		// Their signatures go with their names; the sale keeps that one
		// was given.
		if err := tx.Exec(`UPDATE sale_handovers SET signature_png = NULL WHERE signature_png IS NOT NULL AND sale_id IN
			(SELECT s.id FROM sales s JOIN beneficiaries b ON b.id = s.beneficiary_id WHERE b.anonymised_at IS NOT NULL)`).Error; err != nil {
			return fmt.Errorf("anonymise signatures: %w", err)
		}
		return audit.Record(ctx, tx, "beneficiaries.anonymise", "beneficiary", 0, map[string]any{"count": n, "inactive_since": before.Format(time.RFC3339)})
	})
	return n, err
}

// ParseAge reads a retention period: "24mo" (months), "2y" (years) or "90d"
// (days). "24m" is read as months too, as the command line has always
// taken it; "mo" says so without looking like the minutes of the other
// settings.
func ParseAge(s string) (years, months, days int, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	digits := strings.TrimRight(s, "abcdefghijklmnopqrstuvwxyz")
	n, convErr := strconv.Atoi(digits)
	if convErr != nil || n <= 0 || n > 1200 {
		return 0, 0, 0, fmt.Errorf("%q: write a period such as 24mo (months), 2y (years) or 90d (days)", s)
	}
	switch s[len(digits):] {
	case "y":
		return n, 0, 0, nil
	case "mo", "m":
		return 0, n, 0, nil
	case "d":
		return 0, 0, n, nil
	}
	return 0, 0, 0, fmt.Errorf("%q: the unit is y (years), mo (months) or d (days)", s)
}
