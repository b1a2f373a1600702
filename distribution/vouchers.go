package distribution

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// NewVoucher is the input of IssueVoucher.
type NewVoucher struct {
	BeneficiaryID    int64    `json:"beneficiary_id"`
	DeviceCategories []string `json:"device_categories"`
	Devices          int      `json:"devices"`
	Recharges        int      `json:"recharges"`
	ValidDays        int      `json:"valid_days"`
	// Notify sends the person their code, its end and where to go, by SMS
	// (or email), once the voucher is issued.
	Notify bool `json:"notify"`
}

const (
	maxDevices   = 10
	maxRecharges = 50
	maxValidDays = 366
)

// VoucherView is a voucher as the API shows it.
type VoucherView struct {
	Voucher
	Code             string       `json:"code"`
	Status           string       `json:"status"`
	DeviceCategories []string     `json:"device_categories"`
	Entitlements     Entitlements `json:"entitlements"`
	Remaining        Entitlements `json:"remaining"`
	Used             Entitlements `json:"used"`
	Organization     *OrgRef      `json:"organization,omitempty"`
	Beneficiary      *PersonRef   `json:"beneficiary,omitempty"`
	RenewedFrom      string       `json:"renewed_from,omitempty"`
}

// OrgRef names the issuing organisation.
type OrgRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// PersonRef is what the counter sees of a person: first name, last-name
// initial, birth year.
type PersonRef struct {
	FirstName   string `json:"first_name"`
	LastInitial string `json:"last_initial"`
	BirthYear   *int   `json:"birth_year"`
}

func (s *Service) view(v Voucher, org *partners.Organization, b *Beneficiary) VoucherView {
	out := VoucherView{Voucher: v, Code: FormatCode(v.Code), Status: v.StatusAt(s.now()), DeviceCategories: v.Categories(),
		Entitlements: Entitlements{Devices: v.DevicesAllowed, Recharges: v.RechargesAllowed},
		Remaining:    v.Remaining(), Used: Entitlements{Devices: v.DevicesUsed, Recharges: v.RechargesUsed}}
	if org != nil {
		out.Organization = &OrgRef{ID: org.ID, Name: org.Name}
	}
	if b != nil {
		p := &PersonRef{FirstName: b.FirstName, BirthYear: b.BirthYear}
		if r, _ := utf8.DecodeRuneInString(b.LastName); r != utf8.RuneError {
			p.LastInitial = strings.ToUpper(string(r)) + "."
		}
		out.Beneficiary = p
	}
	return out
}

// endOfDay is the last instant of the day days after today, in loc.
func endOfDay(now time.Time, loc *time.Location, days int) (string, time.Time) {
	local := now.In(loc)
	last := time.Date(local.Year(), local.Month(), local.Day()+days, 0, 0, 0, 0, loc)
	return last.Format(time.DateOnly), time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc).UTC()
}

// IssueVoucher gives a beneficiary of the caller's organisation a voucher:
// which device categories, how many devices and recharges, for how many days
// (to the end of that day in the organisation's time zone).
func (s *Service) IssueVoucher(ctx context.Context, c partners.Caller, in NewVoucher) (VoucherView, error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return VoucherView{}, err
	}
	if err := CheckVoucherInput(in); err != nil {
		return VoucherView{}, err
	}
	if in.BeneficiaryID == 0 {
		return VoucherView{}, apperr.Invalid("beneficiary_id", "is required")
	}
	cats := slices.Clone(in.DeviceCategories)
	if cats == nil {
		cats = []string{}
	}
	var out VoucherView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		b, err := s.beneficiaryFor(tx, c, in.BeneficiaryID)
		if err != nil {
			return err
		}
		if b.AnonymisedAt != nil {
			return apperr.Conflict("anonymised", "beneficiary %d was anonymised: record the person again", b.ID)
		}
		vo, err := s.issue(tx, c, b, cats, in.Devices, in.Recharges, in.ValidDays, nil)
		if err != nil {
			return err
		}
		if in.Notify {
			if err := s.tellVoucher(tx, b, vo); err != nil {
				return err
			}
		}
		out = vo
		return nil
	})
	return out, err
}

// CheckVoucherInput checks a voucher request's own fields.
func CheckVoucherInput(in NewVoucher) error {
	v := &apperr.ValidationError{}
	cats := []string{}
	for _, cat := range in.DeviceCategories {
		switch {
		case !inventory.Category(cat).Valid():
			v.Field("device_categories", "%q is not a category (smartphone, feature_phone, laptop, tablet, desktop, other)", cat)
		case slices.Contains(cats, cat):
			v.Field("device_categories", "%q is listed twice", cat)
		default:
			cats = append(cats, cat)
		}
	}
	if in.Devices < 0 || in.Devices > maxDevices {
		v.Field("devices", "must be between 0 and %d", maxDevices)
	}
	if in.Recharges < 0 || in.Recharges > maxRecharges {
		v.Field("recharges", "must be between 0 and %d", maxRecharges)
	}
	if in.Devices == 0 && in.Recharges == 0 {
		v.Field("devices", "a voucher allows at least one device or one recharge")
	}
	if in.Devices > 0 && len(in.DeviceCategories) == 0 {
		v.Field("device_categories", "say which categories the devices may be, e.g. [\"smartphone\", \"laptop\"]")
	}
	if in.ValidDays < 1 || in.ValidDays > maxValidDays {
		v.Field("valid_days", "must be between 1 and %d", maxValidDays)
	}
	return v.Err()
}

func (s *Service) issue(tx *gorm.DB, c partners.Caller, b Beneficiary, cats []string, devices, recharges, days int, from *Voucher) (VoucherView, error) {
	var org partners.Organization
	if err := tx.Where("id = ?", b.OrganizationID).Take(&org).Error; err != nil {
		return VoucherView{}, fmt.Errorf("organisation of beneficiary %d: %w", b.ID, err)
	}
	now := s.now()
	until, expires := endOfDay(now, org.Location(), days)
	catsJSON, _ := json.Marshal(cats)
	vo := Voucher{BeneficiaryID: b.ID, OrganizationID: org.ID, DeviceCategories: catsJSON, DevicesAllowed: devices,
		RechargesAllowed: recharges, ValidUntil: until, ExpiresAt: expires, Status: StatusActive, CreatedBy: c.UserRef(), CreatedAt: now}
	if from != nil {
		vo.RenewedFromID = &from.ID
	}
	for attempt := 0; ; attempt++ {
		code, err := NewCode()
		if err != nil {
			return VoucherView{}, err
		}
		vo.Code = code
		err = tx.Create(&vo).Error
		if err == nil {
			break
		}
		// 2^53 codes: a collision is rare enough to retry rather than fail;
		// but not forever, in case the error is something else.
		if !database.IsUniqueViolation(err) || attempt > 3 {
			return VoucherView{}, fmt.Errorf("issue voucher: %w", err)
		}
	}
	if err := tx.Model(&Beneficiary{}).Where("id = ?", b.ID).Update("last_activity_at", now).Error; err != nil {
		return VoucherView{}, fmt.Errorf("beneficiary activity: %w", err)
	}
	var fig figures.Tally
	fig.Add(now.In(org.Location()).Format(time.DateOnly), org.ID, figures.VouchersIssued, "", 1, 0)
	fig.Add(vo.ValidUntil, org.ID, figures.VoucherExpiry, "", 1, 0) // until its first use
	if err := fig.Flush(tx); err != nil {
		return VoucherView{}, err
	}
	data := map[string]any{"beneficiary_id": b.ID, "devices": devices, "recharges": recharges, "valid_until": until}
	if from != nil {
		data["renewed_from"] = from.ID
	}
	if err := audit.Record(tx.Statement.Context, tx, "voucher.issue", "voucher", vo.ID, data); err != nil {
		return VoucherView{}, err
	}
	out := s.view(vo, &org, &b)
	if from != nil {
		out.RenewedFrom = FormatCode(from.Code)
	}
	return out, nil
}

// LookupVoucher shows a voucher to the counter or its prescriber: status,
// validity, what remains, the issuing organisation and the person as first
// name, last-name initial and birth year. Space staff and admins may look any
// code up; prescribers only their organisation's (others are not found).
// A mistyped code is 422, an unknown one 404; failures are audited and, past
// the limit, the user gets 429.
func (s *Service) LookupVoucher(ctx context.Context, c partners.Caller, raw string) (VoucherView, error) {
	if err := c.Require(LookupRoles...); err != nil {
		return VoucherView{}, err
	}
	// One user's lookups are counted one at a time (the limit's key locked
	// for the transaction): read apart from the failure they record, 100
	// concurrent lookups checked 29 codes against a limit of 20. A failure
	// is recorded in the same transaction, which then commits.
	var out VoucherView
	var refused error
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		if c.UserID != 0 {
			if err := s.db.LockKeys(tx, fmt.Sprintf("voucher-lookup:%d", c.UserID)); err != nil {
				return err
			}
		}
		if err := s.checkLookupRate(tx, c); err != nil {
			return err
		}
		code, err := NormalizeCode(raw)
		if err != nil {
			refused = invalidCode("code", err)
			return recordLookupFailed(ctx, tx, "mistyped")
		}
		var vo Voucher
		q := tx.Where("code = ?", code)
		if c.Is(partners.RolePrescriber) {
			q = q.Scopes(ownOrganization(c))
		}
		if err := q.Take(&vo).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				refused = fmt.Errorf("no voucher %s: %w", FormatCode(code), apperr.ErrNotFound)
				return recordLookupFailed(ctx, tx, "unknown")
			}
			return fmt.Errorf("voucher lookup: %w", err)
		}
		if out, err = s.fullView(tx, vo); err != nil {
			return err
		}
		return audit.Record(ctx, tx, "voucher.lookup", "voucher", vo.ID, nil)
	})
	if err != nil {
		return VoucherView{}, err
	}
	return out, refused
}

// BasketVoucher shows again the voucher of a basket that a preview has
// just checked (PreviewSale counted the code against the lookup limit and
// read it): a plain read, neither counted nor audited again, outside any
// transaction, so that a scan at the counter writes nothing.
func (s *Service) BasketVoucher(ctx context.Context, c partners.Caller, raw string) (VoucherView, error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleSpace); err != nil {
		return VoucherView{}, err
	}
	code, err := NormalizeCode(raw)
	if err != nil {
		return VoucherView{}, apperr.Invalid("code", "is mistyped")
	}
	// One statement, redrawn at every scan: the voucher with its issuer,
	// person and predecessor.
	var rows []struct {
		Voucher
		OrgName      string
		BenFirstName string
		BenLastName  string
		BenBirthYear *int
		FromCode     *string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT v.*, o.name AS org_name, b.first_name AS ben_first_name, b.last_name AS ben_last_name,
			b.birth_year AS ben_birth_year, f.code AS from_code
		FROM vouchers v JOIN organizations o ON o.id = v.organization_id JOIN beneficiaries b ON b.id = v.beneficiary_id
		LEFT JOIN vouchers f ON f.id = v.renewed_from_id
		WHERE v.code = ?`, code).Scan(&rows).Error; err != nil {
		return VoucherView{}, fmt.Errorf("voucher %s: %w", FormatCode(code), err)
	}
	if len(rows) == 0 {
		return VoucherView{}, notFound(gorm.ErrRecordNotFound, "voucher %s", FormatCode(code))
	}
	r := rows[0]
	view := s.view(r.Voucher, &partners.Organization{ID: r.OrganizationID, Name: r.OrgName},
		&Beneficiary{FirstName: r.BenFirstName, LastName: r.BenLastName, BirthYear: r.BenBirthYear})
	if r.FromCode != nil {
		view.RenewedFrom = FormatCode(*r.FromCode)
	}
	return view, nil
}

func (s *Service) fullView(db *gorm.DB, vo Voucher) (VoucherView, error) {
	views, err := s.fullViews(db, []Voucher{vo})
	if err != nil {
		return VoucherView{}, err
	}
	return views[0], nil
}

// fullViews shows vouchers with their issuer, person and predecessor, loading
// each of those once for the whole list.
func (s *Service) fullViews(db *gorm.DB, vs []Voucher) ([]VoucherView, error) {
	var orgIDs, benIDs, fromIDs []int64
	for _, v := range vs {
		orgIDs, benIDs = append(orgIDs, v.OrganizationID), append(benIDs, v.BeneficiaryID)
		if v.RenewedFromID != nil {
			fromIDs = append(fromIDs, *v.RenewedFromID)
		}
	}
	var orgs []partners.Organization
	var bens []Beneficiary
	var froms []Voucher
	if err := db.Session(&gorm.Session{}).Where("id IN ?", orgIDs).Find(&orgs).Error; err != nil {
		return nil, fmt.Errorf("voucher organisations: %w", err)
	}
	if err := db.Session(&gorm.Session{}).Where("id IN ?", benIDs).Find(&bens).Error; err != nil {
		return nil, fmt.Errorf("voucher beneficiaries: %w", err)
	}
	if len(fromIDs) > 0 {
		if err := db.Session(&gorm.Session{}).Select("id, code").Where("id IN ?", fromIDs).Find(&froms).Error; err != nil {
			return nil, fmt.Errorf("renewed vouchers: %w", err)
		}
	}
	orgByID := map[int64]*partners.Organization{}
	for i := range orgs {
		orgByID[orgs[i].ID] = &orgs[i]
	}
	benByID := map[int64]*Beneficiary{}
	for i := range bens {
		benByID[bens[i].ID] = &bens[i]
	}
	codeByID := map[int64]string{}
	for _, f := range froms {
		codeByID[f.ID] = f.Code
	}
	out := make([]VoucherView, 0, len(vs))
	for _, v := range vs {
		org, b := orgByID[v.OrganizationID], benByID[v.BeneficiaryID]
		if org == nil || b == nil {
			return nil, fmt.Errorf("voucher %d: organisation or beneficiary missing", v.ID)
		}
		view := s.view(v, org, b)
		if v.RenewedFromID != nil {
			if c, ok := codeByID[*v.RenewedFromID]; ok {
				view.RenewedFrom = FormatCode(c)
			}
		}
		out = append(out, view)
	}
	return out, nil
}

func (s *Service) checkLookupRate(db *gorm.DB, c partners.Caller) error {
	if c.UserID == 0 {
		return nil
	}
	var failures []audit.Entry
	if err := db.Where("user_id = ? AND action = ? AND at > ?", c.UserID, "voucher.lookup_failed", s.now().Add(-s.limits.Window)).
		Order("at").Limit(s.limits.Max).Find(&failures).Error; err != nil {
		return fmt.Errorf("lookup rate: %w", err)
	}
	if len(failures) >= s.limits.Max {
		return &apperr.RateLimitError{RetryAfter: failures[0].At.Add(s.limits.Window).Sub(s.now()),
			Detail: "too many voucher codes not found; wait a few minutes and check the code with the person"}
	}
	return nil
}

func (s *Service) lookupFailed(ctx context.Context, why string) {
	// A failed audit write must not hide the answer; it is the log's loss only.
	_ = recordLookupFailed(ctx, s.db.WithContext(ctx), why)
}

func recordLookupFailed(ctx context.Context, db *gorm.DB, why string) error {
	return audit.Record(ctx, db, "voucher.lookup_failed", "voucher", 0, map[string]any{"reason": why})
}

// GetVoucher shows one of the caller organisation's vouchers with its
// issuer, person and predecessor (admins any): the prescriber's page of it.
func (s *Service) GetVoucher(ctx context.Context, c partners.Caller, code string) (VoucherView, error) {
	db := s.db.WithContext(ctx)
	vo, err := s.voucherFor(db, c, code)
	if err != nil {
		return VoucherView{}, err
	}
	return s.fullView(db, vo)
}

// voucherFor loads a voucher of the caller's organisation by code, for the
// prescriber's own actions.
func (s *Service) voucherFor(db *gorm.DB, c partners.Caller, raw string) (Voucher, error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return Voucher{}, err
	}
	code, err := NormalizeCode(raw)
	if err != nil {
		return Voucher{}, invalidCode("code", err)
	}
	var vo Voucher
	if err := db.Scopes(ownOrganization(c)).Where("code = ?", code).Take(&vo).Error; err != nil {
		return vo, notFound(err, "voucher %s", FormatCode(code))
	}
	return vo, nil
}

// VoucherFilter narrows ListVouchers.
type VoucherFilter struct {
	Status        string
	BeneficiaryID int64
	// Q finds a voucher by its code (or its start) or its person's name.
	Q string
}

// ListVouchers lists the caller organisation's vouchers, with their use: the
// prescriber's way to know whether the person came.
func (s *Service) ListVouchers(ctx context.Context, c partners.Caller, f VoucherFilter, p paging.Page) (paging.List[VoucherView], error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return paging.List[VoucherView]{}, err
	}
	db := s.db.WithContext(ctx)
	q := db.Scopes(ownOrganization(c)).Where("id > ?", p.AfterID).Order("id").Limit(p.Limit + 1)
	now := s.now()
	switch f.Status {
	case "":
	case StatusActive:
		q = q.Where("status = ? AND expires_at > ?", StatusActive, now)
	case StatusExpired:
		q = q.Where("status = ? AND expires_at <= ?", StatusActive, now)
	case StatusUsed, StatusRevoked:
		q = q.Where("status = ?", f.Status)
	default:
		return paging.List[VoucherView]{}, apperr.Invalid("status", "must be active, used, expired or revoked")
	}
	if f.BeneficiaryID != 0 {
		q = q.Where("beneficiary_id = ?", f.BeneficiaryID)
	}
	if err := CheckSearch(f.Q); err != nil {
		return paging.List[VoucherView]{}, err
	}
	if f.Q = strings.TrimSpace(f.Q); f.Q != "" {
		// A name's words must all be in the person's name; or the text is
		// the start of a code (three symbols at least, dashes optional).
		// A word with a digit is a piece of a code, never of a name
		// ("EA72-4" must not look for every "ea" in the names).
		var words []string
		for _, w := range strings.Fields(f.Q) {
			if !strings.ContainsAny(w, "0123456789") {
				words = append(words, searchWords(w)...)
			}
		}
		named := db.Table("beneficiaries b").Select("b.id").Where("b.anonymised_at IS NULL")
		for _, w := range words {
			named = named.Where("b.name_key LIKE ?", "%"+w+"%")
		}
		code := normalizeSearchCode(f.Q)
		switch {
		case len(code) >= 3 && len(words) > 0:
			q = q.Where("(code LIKE ? OR beneficiary_id IN (?))", code+"%", named)
		case len(code) >= 3:
			q = q.Where("code LIKE ?", code+"%")
		case len(words) > 0:
			q = q.Where("beneficiary_id IN (?)", named)
		default:
			q = q.Where("1 = 0")
		}
	}
	var vs []Voucher
	if err := q.Find(&vs).Error; err != nil {
		return paging.List[VoucherView]{}, fmt.Errorf("list vouchers: %w", err)
	}
	views, err := s.fullViews(db, vs)
	if err != nil {
		return paging.List[VoucherView]{}, err
	}
	return paging.New(views, p, func(v VoucherView) int64 { return v.ID }), nil
}

// Revoke withdraws a voucher (a lost paper, a mistake), with the reason.
func (s *Service) Revoke(ctx context.Context, c partners.Caller, raw, reason string) (VoucherView, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len([]rune(reason)) > 500 {
		return VoucherView{}, apperr.Invalid("reason", "is required, at most 500 characters")
	}
	var out VoucherView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		vo, err := s.voucherFor(tx, c, raw)
		if err != nil {
			return err
		}
		if vo.Status != StatusActive {
			return apperr.Conflict("voucher-inactive", "voucher %s is %s: only an active voucher can be revoked", FormatCode(vo.Code), vo.Status)
		}
		now := s.now()
		res := tx.Model(&Voucher{}).Where("id = ? AND status = ?", vo.ID, StatusActive).
			Updates(map[string]any{"status": StatusRevoked, "revoked_at": now, "revoked_by": c.UserRef(), "revoke_reason": reason})
		if res.Error != nil {
			return fmt.Errorf("revoke: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return apperr.Conflict("voucher-inactive", "voucher %s changed meanwhile", FormatCode(vo.Code))
		}
		if err := unusedGone(tx, vo); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, "voucher.revoke", "voucher", vo.ID, map[string]any{"reason": reason}); err != nil {
			return err
		}
		if err := tx.Where("id = ?", vo.ID).Take(&vo).Error; err != nil {
			return err
		}
		out, err = s.fullView(tx, vo)
		return err
	})
	return out, err
}

// Renew issues a new voucher with what the old one had left, for validDays,
// linked to it; an old voucher still active is revoked in the same
// transaction, so the person never holds two.
func (s *Service) Renew(ctx context.Context, c partners.Caller, raw string, validDays int) (VoucherView, error) {
	if validDays < 1 || validDays > maxValidDays {
		return VoucherView{}, apperr.Invalid("valid_days", "must be between 1 and %d", maxValidDays)
	}
	var out VoucherView
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		old, err := s.voucherFor(tx, c, raw)
		if err != nil {
			return err
		}
		left := old.Remaining()
		if old.Status == StatusUsed || (left.Devices == 0 && left.Recharges == 0) {
			return apperr.Conflict("entitlement-exhausted", "voucher %s is used up: issue a new one instead", FormatCode(old.Code))
		}
		var b Beneficiary
		if err := tx.Where("id = ?", old.BeneficiaryID).Take(&b).Error; err != nil {
			return fmt.Errorf("beneficiary of voucher: %w", err)
		}
		if b.AnonymisedAt != nil {
			return apperr.Conflict("anonymised", "beneficiary %d was anonymised: record the person again", b.ID)
		}
		out, err = s.issue(tx, c, b, old.Categories(), left.Devices, left.Recharges, validDays, &old)
		if err != nil {
			return err
		}
		if old.Status == StatusActive {
			reason := "renouvelé par " + out.Code
			if err := tx.Model(&Voucher{}).Where("id = ? AND status = ?", old.ID, StatusActive).
				Updates(map[string]any{"status": StatusRevoked, "revoked_at": s.now(), "revoked_by": c.UserRef(), "revoke_reason": reason}).Error; err != nil {
				return fmt.Errorf("retire renewed voucher: %w", err)
			}
			if err := unusedGone(tx, old); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// ScanVoucher lets GET /scan/{code} resolve voucher codes: anything that is
// not code-shaped, or that the caller may not look up, is simply not a voucher.
func (s *Service) ScanVoucher(ctx context.Context, c partners.Caller, code string) (string, any, error) {
	if !LooksLikeCode(code) || !c.Is(LookupRoles...) {
		return "", nil, fmt.Errorf("not a voucher code: %w", apperr.ErrNotFound)
	}
	v, err := s.LookupVoucher(ctx, c, code)
	if err != nil {
		return "", nil, err
	}
	return "voucher", v, nil
}

// unusedGone takes a revoked voucher out of those that will end unused (it
// was counted there when issued, and leaves at its first use).
func unusedGone(tx *gorm.DB, vo Voucher) error {
	if vo.LastUsedAt != nil {
		return nil
	}
	var fig figures.Tally
	fig.Add(vo.ValidUntil, vo.OrganizationID, figures.VoucherExpiry, "", -1, 0)
	return fig.Flush(tx)
}
