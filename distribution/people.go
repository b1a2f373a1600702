package distribution

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/paging"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// PersonSummary is a person as a prescriber looks for them: who they are,
// their vouchers and what they already received.
type PersonSummary struct {
	Beneficiary
	Vouchers       int        // every voucher issued to them
	ActiveVouchers int        // still usable now
	LastVoucherAt  *time.Time // when the last one was issued
	// DevicesThisYear counts the devices bought over the last 12 months,
	// the figure the network's yearly limit is checked against.
	DevicesThisYear int
}

// MaxFound bounds a search's answer: a prescriber types more letters
// rather than reading a hundred names.
const MaxFound = 30

// searchWords folds a typed name into the words a name_key must contain:
// no case, no accents, letters only, in any order ("dupont jean" finds
// Jean Dupont).
func searchWords(q string) []string {
	var out []string
	for _, w := range strings.Fields(q) {
		if k := strings.TrimSuffix(nameKey(w, ""), "|"); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// FindPeople looks the caller organisation's people up by name, the most
// recently active first, with what they received. An empty search lists
// the most recent ones.
func (s *Service) FindPeople(ctx context.Context, c partners.Caller, q string, limit int) ([]PersonSummary, error) {
	if err := c.Require(PrescriberRoles...); err != nil {
		return nil, err
	}
	if err := CheckSearch(q); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > MaxFound {
		limit = MaxFound
	}
	db := s.db.WithContext(ctx)
	query := db.Scopes(ownOrganization(c)).Where("anonymised_at IS NULL").Order("last_activity_at DESC, id DESC").Limit(limit)
	for _, w := range searchWords(q) {
		query = query.Where("name_key LIKE ?", "%"+w+"%")
	}
	var people []Beneficiary
	if err := query.Find(&people).Error; err != nil {
		return nil, fmt.Errorf("find people: %w", err)
	}
	return s.summarise(db, people)
}

// Person is one person of the caller's organisation with what they
// received; reading it is audited, as GetBeneficiary.
func (s *Service) Person(ctx context.Context, c partners.Caller, id int64) (PersonSummary, error) {
	b, err := s.GetBeneficiary(ctx, c, id)
	if err != nil {
		return PersonSummary{}, err
	}
	out, err := s.summarise(s.db.WithContext(ctx), []Beneficiary{b})
	if err != nil {
		return PersonSummary{}, err
	}
	return out[0], nil
}

// summarise adds each person's vouchers and devices, two queries for the
// whole list.
func (s *Service) summarise(db *gorm.DB, people []Beneficiary) ([]PersonSummary, error) {
	out := make([]PersonSummary, len(people))
	if len(people) == 0 {
		return out, nil
	}
	ids := make([]int64, len(people))
	at := map[int64]int{}
	for i, b := range people {
		ids[i], at[b.ID] = b.ID, i
		out[i].Beneficiary = b
	}
	now := s.now()
	var vouchers []struct {
		BeneficiaryID int64
		Total, Active int
	}
	// MAX(created_at) would come back as text on SQLite: the last issue
	// date is read in a second, typed query.
	if err := db.Session(&gorm.Session{}).Table("vouchers").
		Select("beneficiary_id, COUNT(*) AS total, SUM(CASE WHEN status = ? AND expires_at > ? THEN 1 ELSE 0 END) AS active", StatusActive, now).
		Where("beneficiary_id IN ?", ids).Group("beneficiary_id").Scan(&vouchers).Error; err != nil {
		return nil, fmt.Errorf("vouchers of people: %w", err)
	}
	for _, v := range vouchers {
		out[at[v.BeneficiaryID]].Vouchers, out[at[v.BeneficiaryID]].ActiveVouchers = v.Total, v.Active
	}
	var lasts []Voucher
	if err := db.Session(&gorm.Session{}).Select("beneficiary_id, created_at").Where("beneficiary_id IN ?", ids).
		Order("created_at").Find(&lasts).Error; err != nil {
		return nil, fmt.Errorf("last vouchers of people: %w", err)
	}
	for _, v := range lasts {
		t := v.CreatedAt
		out[at[v.BeneficiaryID]].LastVoucherAt = &t
	}
	bought, err := devicesBought(db, ids, now)
	if err != nil {
		return nil, err
	}
	for id, n := range bought {
		out[at[id]].DevicesThisYear = n
	}
	return out, nil
}

// devicesBought counts, per person, the devices bought over the 12 months
// before now and not brought back: what the yearly limit counts.
func devicesBought(db *gorm.DB, ids []int64, now time.Time) (map[int64]int, error) {
	var rows []struct {
		BeneficiaryID int64
		N             int
	}
	if err := db.Session(&gorm.Session{}).Table("sale_lines l").Select("s.beneficiary_id, COUNT(*) AS n").
		Joins("JOIN sales s ON s.id = l.sale_id").
		Where("s.beneficiary_id IN ? AND l.kind = 'device' AND l.refund_id IS NULL AND s.created_at > ?", ids, now.AddDate(-1, 0, 0)).
		Group("s.beneficiary_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("devices bought: %w", err)
	}
	out := map[int64]int{}
	for _, r := range rows {
		out[r.BeneficiaryID] = r.N
	}
	return out, nil
}

// YearlyLimit is the network's limit of devices per person over 12 months
// (0: none), for the prescriber's page to warn before the person travels.
func (s *Service) YearlyLimit() int { return s.policy.DevicesPerYear }

// VoucherDefaults are what the caller's organisation gave on its last
// voucher (categories, devices, recharges, days), so that a prescriber
// who issues the same kind of voucher all day types nothing; a first
// voucher gets one smartphone for 30 days.
func (s *Service) VoucherDefaults(ctx context.Context, c partners.Caller) (NewVoucher, error) {
	def := NewVoucher{DeviceCategories: []string{"smartphone"}, Devices: 1, ValidDays: 30}
	if err := c.Require(IssuerRoles...); err != nil {
		return def, err
	}
	var last Voucher
	err := s.db.WithContext(ctx).Where("organization_id = ? AND renewed_from_id IS NULL", c.OrganizationID).Order("id DESC").Limit(1).Find(&last).Error
	if err != nil {
		return def, fmt.Errorf("last voucher: %w", err)
	}
	if last.ID == 0 {
		return def, nil
	}
	loc, err := zone.Load(c.Timezone)
	if err != nil {
		loc = time.UTC
	}
	until, err := time.ParseInLocation(time.DateOnly, last.ValidUntil, loc)
	if err != nil {
		return def, nil
	}
	issued := last.CreatedAt.In(loc)
	day := time.Date(issued.Year(), issued.Month(), issued.Day(), 0, 0, 0, 0, loc)
	days := int(until.Sub(day).Hours()/24 + 0.5)
	var cats []string
	_ = json.Unmarshal(last.DeviceCategories, &cats)
	if days < 1 || days > maxValidDays {
		days = def.ValidDays
	}
	return NewVoucher{DeviceCategories: cats, Devices: last.DevicesAllowed, Recharges: last.RechargesAllowed, ValidDays: days}, nil
}

// normalizeSearchCode reads a typed code or the start of one: symbols of
// the code's alphabet only, dashes and spaces dropped; "" when it cannot
// be one.
func normalizeSearchCode(q string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(q) {
		switch {
		case r == '-' || r == ' ':
		case r < 128 && values[byte(r)] >= 0:
			b.WriteRune(r)
		default:
			return ""
		}
	}
	return b.String()
}

// CheckSearch refuses a search too long to mean anything.
func CheckSearch(q string) error {
	if len([]rune(q)) > 100 {
		return apperr.Invalid("q", "must be at most 100 characters")
	}
	return nil
}

// PersonVouchers are a person's vouchers, the newest first.
func (s *Service) PersonVouchers(ctx context.Context, c partners.Caller, id int64) ([]VoucherView, error) {
	l, err := s.ListVouchers(ctx, c, VoucherFilter{BeneficiaryID: id}, paging.Page{Limit: 500})
	slices.Reverse(l.Items)
	return l.Items, err
}
