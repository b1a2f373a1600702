// Package reports answers the questions donors and funders ask: how many
// devices came in, were erased, sold or recycled; how many recharges, how
// many people served, how much they saved.
package reports

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Service reads the other domains' tables; it writes nothing.
type Service struct {
	DB      *database.DB
	Now     func() time.Time
	Factors []Factor // the donor report's environmental factors; nil: DefaultFactors
}

// Summary is the report of a period.
type Summary struct {
	From              string           `json:"from"`
	To                string           `json:"to"`
	SiteID            *int64           `json:"site_id"`
	Timezone          string           `json:"timezone"`
	DevicesByState    map[string]int64 `json:"devices_by_state"`
	DevicesByCategory map[string]int64 `json:"devices_by_category"`
	Intake            int64            `json:"intake"`
	Erased            int64            `json:"erased"`
	// ErasedWithReport are the erasures proven by the tool's own report
	// (the others were typed); Locked the diagnoses that found a lock,
	// keeping the device from sale.
	ErasedWithReport int64 `json:"erased_with_report"`
	Locked           int64 `json:"locked"`
	// AccessoriesSold are the accessories sold in the period and not
	// brought back, by kind (charger, cable…).
	AccessoriesSold     map[string]int64 `json:"accessories_sold"`
	Sold                int64            `json:"sold"`
	Recycled            int64            `json:"recycled"`
	RechargesSold       int64            `json:"recharges_sold"`
	FaceValueCents      int64            `json:"face_value_cents"`
	BeneficiariesServed int64            `json:"beneficiaries_served"`
	VouchersIssued      int64            `json:"vouchers_issued"` // for a site: issued in the period and used there
	VouchersUsed        int64            `json:"vouchers_used"`
	PaidCents           int64            `json:"paid_cents"`
	SavingsCents        int64            `json:"savings_cents"`
	// Whole days, the median over the devices that got ready (sold) in
	// the period; null when none did.
	MedianDaysIntakeToReady *float64             `json:"median_days_intake_to_ready"`
	MedianDaysReadyToSold   *float64             `json:"median_days_ready_to_sold"`
	VouchersByPrescriber    []PrescriberVouchers `json:"vouchers_by_prescriber"` // the network's report only
}

// PrescriberVouchers is one prescriber organisation's vouchers over the
// period: issued in it, first used in it, ended unused in it (their last
// valid day in the period and past), and the median whole days from issue
// to first use.
type PrescriberVouchers struct {
	OrganizationID       int64    `json:"organization_id"`
	Issued               int64    `json:"issued"`
	Used                 int64    `json:"used"`
	Expired              int64    `json:"expired"`
	MedianDaysToFirstUse *float64 `json:"median_days_to_first_use"`
}

// Summarise reports on [from, to] (local days, inclusive) for the network or
// one site: admins any, site staff their own site; others 403.
func (s *Service) Summarise(ctx context.Context, c partners.Caller, from, to string, siteID int64) (Summary, error) {
	if err := c.Require(partners.RoleAdmin, partners.RoleWarehouse, partners.RoleSpace); err != nil {
		return Summary{}, err
	}
	if !c.IsAdmin() {
		own, _ := c.SiteID()
		if siteID != 0 && siteID != own {
			return Summary{}, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
		}
		siteID = own
	}
	db := s.DB.WithContext(ctx)
	loc, _ := zone.Load(partners.DefaultTimezone)
	out := Summary{DevicesByState: map[string]int64{}, DevicesByCategory: map[string]int64{}, VouchersByPrescriber: []PrescriberVouchers{}}
	if siteID != 0 {
		var site partners.Organization
		if err := db.Where("id = ? AND kind IN ?", siteID, []partners.Kind{partners.KindWarehouse, partners.KindSpace}).Take(&site).Error; err != nil {
			return Summary{}, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
		}
		loc = site.Location()
		out.SiteID = &siteID
	}
	out.Timezone = loc.String()
	if siteID == 0 && to == "" {
		today, err := s.networkToday(ctx)
		if err != nil {
			return Summary{}, err
		}
		to = today
	}
	now := s.now().In(loc)
	start, end, err := period(from, to, now, loc)
	if err != nil {
		return Summary{}, err
	}
	first, last := start.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly)
	out.From, out.To = first, last

	// Accessories sold, from the sales of the period (their own lines).
	out.AccessoriesSold = map[string]int64{}
	var acc []struct {
		Kind string
		N    int64
	}
	accQ := db.Table("sale_accessories sa").Select("a.kind, SUM(sa.quantity - sa.refunded) AS n").
		Joins("JOIN sales s ON s.id = sa.sale_id").Joins("JOIN accessories a ON a.id = sa.accessory_id").
		Where("s.local_date >= ? AND s.local_date <= ?", first, last).Group("a.kind")
	if siteID != 0 {
		accQ = accQ.Where("s.site_id = ?", siteID)
	}
	if err := accQ.Scan(&acc).Error; err != nil {
		return Summary{}, fmt.Errorf("accessories sold: %w", err)
	}
	for _, a := range acc {
		if a.N > 0 {
			out.AccessoriesSold[a.Kind] = a.N
		}
	}

	// Everything is read from the figures kept day by day (figures.go):
	// the work grows with the days of the period, not with the events.
	org, orgArgs := "", []any{}
	if siteID != 0 {
		org, orgArgs = " AND org_id = ?", []any{siteID}
	}
	// Two reads: the sums of the period (one line per metric), then what
	// needs its labels or its organisation (waits, prescribers' vouchers).
	var rows, labelled []figureRow
	if err := db.Raw(`SELECT metric, SUM(n) AS n, SUM(cents) AS cents FROM figure_rows
		WHERE metric IN ? AND day >= ? AND day <= ?`+org+` GROUP BY metric`,
		append([]any{summedMetrics, first, last}, orgArgs...)...).Scan(&rows).Error; err != nil {
		return Summary{}, fmt.Errorf("figures: %w", err)
	}
	// The network's waits before a sale are kept once more under org 0,
	// and per month: read apart.
	labels := labelledMetrics
	if siteID == 0 {
		labels = slices.DeleteFunc(slices.Clone(labels), func(m string) bool { return m == figures.LagReadySold })
	}
	if err := db.Raw(`SELECT org_id, metric, label, SUM(n) AS n FROM figure_rows
		WHERE metric IN ? AND day >= ? AND day <= ?`+org+` GROUP BY org_id, metric, label`,
		append([]any{labels, first, last}, orgArgs...)...).Scan(&labelled).Error; err != nil {
		return Summary{}, fmt.Errorf("figures: %w", err)
	}
	rows = append(rows, labelled...)
	if siteID == 0 {
		waits, err := networkFigures(db, []string{figures.LagReadySold}, first, last, "", nil)
		if err != nil {
			return Summary{}, err
		}
		rows = append(rows, waits...)
	}
	var intakeReady, readySold histogram
	prescribers := map[int64]*PrescriberVouchers{}
	lags := map[int64]histogram{}
	prescriber := func(id int64) *PrescriberVouchers {
		if prescribers[id] == nil {
			prescribers[id] = &PrescriberVouchers{OrganizationID: id}
		}
		return prescribers[id]
	}
	for _, r := range rows {
		switch r.Metric {
		case figures.Intake:
			out.Intake += r.N
		case figures.Erased:
			out.Erased += r.N
		case figures.ErasedProven:
			out.ErasedWithReport += r.N
		case figures.LockedFound:
			out.Locked += r.N
		case figures.Recycled:
			out.Recycled += r.N
		case figures.Sold:
			out.Sold += r.N
		case figures.Recharges:
			out.RechargesSold += r.N
			out.FaceValueCents += r.Cents
		case figures.Sales:
			out.PaidCents += r.Cents
		case figures.Savings:
			out.SavingsCents += r.Cents
		case figures.LagIntakeReady:
			intakeReady.add(r.Label, r.N)
		case figures.LagReadySold:
			readySold.add(r.Label, r.N)
		case figures.IssuedUsedHere:
			if siteID != 0 {
				out.VouchersIssued += r.N
			}
		case figures.VouchersIssued:
			if siteID == 0 {
				out.VouchersIssued += r.N
				prescriber(r.OrgID).Issued += r.N
			}
		case figures.VoucherFirst:
			prescriber(r.OrgID).Used += r.N
		case figures.VoucherLag:
			h := lags[r.OrgID]
			h.add(r.Label, r.N)
			lags[r.OrgID] = h
		}
	}
	out.MedianDaysIntakeToReady, out.MedianDaysReadyToSold = intakeReady.median(), readySold.median()

	// Devices as they stand.
	var now2 []figureRow
	if err := db.Raw(`SELECT label, SUM(n) AS n FROM figure_rows WHERE day = '' AND metric = ?`+org+` GROUP BY label`,
		append([]any{figures.Devices}, orgArgs...)...).Scan(&now2).Error; err != nil {
		return Summary{}, fmt.Errorf("devices: %w", err)
	}
	for _, r := range now2 {
		state, category, _ := strings.Cut(r.Label, "/")
		if r.N != 0 {
			out.DevicesByState[state] += r.N
			out.DevicesByCategory[category] += r.N
		}
	}

	// People and vouchers counted once each: across the network, the rows
	// of the period whose previous day served is before it; for one site,
	// its own sales of the period (a site's period stays small).
	if siteID == 0 {
		served, err := networkFigures(db, []string{figures.People, figures.VouchersUsed}, first, last, " AND label < ?", []any{first})
		if err != nil {
			return Summary{}, fmt.Errorf("people served: %w", err)
		}
		for _, r := range served {
			if r.Metric == figures.People {
				out.BeneficiariesServed += r.N
			} else {
				out.VouchersUsed += r.N
			}
		}
		// Vouchers that ended unused: those whose last valid day is in
		// the period and already past.
		yesterday := now.AddDate(0, 0, -1).Format(time.DateOnly)
		var expired []figureRow
		if err := db.Raw(`SELECT org_id, SUM(n) AS n FROM figure_rows WHERE day >= ? AND day <= ? AND metric = ? GROUP BY org_id`,
			first, min(last, yesterday), figures.VoucherExpiry).Scan(&expired).Error; err != nil {
			return Summary{}, fmt.Errorf("vouchers expired: %w", err)
		}
		for _, r := range expired {
			if r.N != 0 {
				prescriber(r.OrgID).Expired += r.N
			}
		}
		for id, p := range prescribers {
			h := lags[id]
			p.MedianDaysToFirstUse = h.median()
			out.VouchersByPrescriber = append(out.VouchersByPrescriber, *p)
		}
		slices.SortFunc(out.VouchersByPrescriber, func(a, b PrescriberVouchers) int { return cmp.Compare(a.OrganizationID, b.OrganizationID) })
	} else {
		var people struct {
			Beneficiaries int64
			Vouchers      int64
		}
		if err := db.Raw(`SELECT COUNT(DISTINCT beneficiary_id) AS beneficiaries, COUNT(DISTINCT voucher_id) AS vouchers
			FROM sales WHERE site_id = ? AND local_date >= ? AND local_date <= ?`, siteID, first, last).Scan(&people).Error; err != nil {
			return Summary{}, fmt.Errorf("people served: %w", err)
		}
		out.BeneficiariesServed, out.VouchersUsed = people.Beneficiaries, people.Vouchers
	}
	return out, nil
}

// networkFigures sums the network's (org 0) figures of metrics kept by
// month too (figures.ByMonth) over [first, last] by metric and label: its
// whole months from the months' rows, the days at its edges from the
// days'. cond is more of the WHERE clause, with its args.
func networkFigures(db *gorm.DB, metrics []string, first, last, cond string, args []any) ([]figureRow, error) {
	months, days := figures.Ranges(first, last)
	var parts []string
	var all []any
	part := func(ms []string, from, to string) {
		parts = append(parts, `SELECT metric, label, n FROM figure_rows WHERE metric IN ? AND day >= ? AND day <= ? AND org_id = 0`+cond)
		all = append(append(all, ms, from, to), args...)
	}
	for _, d := range days {
		part(metrics, d[0], d[1])
	}
	if months[0] != "" {
		monthly := make([]string, len(metrics))
		for i, m := range metrics {
			monthly[i] = figures.Monthly(m)
		}
		part(monthly, months[0], months[1])
	}
	var rows []figureRow
	if err := db.Raw(`SELECT metric, label, SUM(n) AS n FROM (`+strings.Join(parts, " UNION ALL ")+`) x GROUP BY metric, label`, all...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	for i := range rows {
		rows[i].Metric = strings.TrimSuffix(rows[i].Metric, figures.Monthly(""))
	}
	return rows, nil
}

// The figures a summary sums over its days: summedMetrics whole,
// labelledMetrics by label and organisation.
var (
	summedMetrics = []string{figures.Intake, figures.Erased, figures.ErasedProven, figures.LockedFound, figures.Recycled, figures.Sold, figures.Recharges, figures.Sales,
		figures.Savings, figures.IssuedUsedHere}
	labelledMetrics = []string{figures.LagIntakeReady, figures.LagReadySold, figures.VouchersIssued, figures.VoucherFirst, figures.VoucherLag}
)

type figureRow struct {
	OrgID  int64
	Metric string
	Label  string
	N      int64
	Cents  int64
}

// histogram counts whole days: how many waited 0 days, 1 day, ...
type histogram map[int64]int64

func (h *histogram) add(label string, n int64) {
	d, err := strconv.ParseInt(label, 10, 64)
	if err != nil || n == 0 {
		return
	}
	if *h == nil {
		*h = histogram{}
	}
	(*h)[d] += n
}

// median is the middle wait (the mean of the two middle ones for an even
// count), nil without any.
func (h histogram) median() *float64 {
	var total int64
	days := make([]int64, 0, len(h))
	for d, n := range h {
		if n > 0 {
			total += n
			days = append(days, d)
		}
	}
	if total == 0 {
		return nil
	}
	slices.Sort(days)
	at := func(i int64) int64 { // the i-th wait, from 0
		for _, d := range days {
			if i < h[d] {
				return d
			}
			i -= h[d]
		}
		return days[len(days)-1]
	}
	m := float64(at((total-1)/2)+at(total/2)) / 2
	return &m
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return database.Now()
}

// networkToday is the latest local day any organisation of the network has
// reached. Figures are kept by each site's own day, so a network period
// that ends today ends there: past 20:00 in Paris, La Réunion's sales are
// already tomorrow's.
func (s *Service) networkToday(ctx context.Context) (string, error) {
	var zones []string
	if err := s.DB.WithContext(ctx).Model(&partners.Organization{}).Distinct("timezone").Pluck("timezone", &zones).Error; err != nil {
		return "", fmt.Errorf("the network's time zones: %w", err)
	}
	now := s.now()
	loc, _ := zone.Load(partners.DefaultTimezone)
	today := now.In(loc).Format(time.DateOnly)
	for _, z := range zones {
		if l, err := zone.Load(z); err == nil {
			today = max(today, now.In(l).Format(time.DateOnly))
		}
	}
	return today, nil
}

// period turns from and to (inclusive local days) into [start, end). By
// default, the current month to today. A period not understood is a
// validation error on "from".
func period(from, to string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	last := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	var err error
	if from != "" {
		if start, err = time.ParseInLocation(time.DateOnly, from, loc); err != nil {
			return start, last, apperr.Invalid("from", "from and to are dates such as 2026-01-31")
		}
	}
	if to != "" {
		if last, err = time.ParseInLocation(time.DateOnly, to, loc); err != nil {
			return start, last, apperr.Invalid("from", "from and to are dates such as 2026-01-31")
		}
	}
	if last.Before(start) {
		return start, last, apperr.Invalid("from", "from (%s) is after to (%s)", start.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	if last.Sub(start) > 3*366*24*time.Hour {
		return start, last, apperr.Invalid("from", "a report covers three years at most")
	}
	return start, last.AddDate(0, 0, 1), nil
}

// WriteCSV writes the summary as metric,key,value lines.
func WriteCSV(w io.Writer, s Summary) error {
	cw := csvfile.NewWriter(w)
	rows := [][]string{{"metric", "key", "value"}, {"period", "from", s.From}, {"period", "to", s.To}, {"period", "timezone", s.Timezone}}
	site := ""
	if s.SiteID != nil {
		site = strconv.FormatInt(*s.SiteID, 10)
	}
	rows = append(rows, []string{"period", "site_id", site})
	for _, m := range []struct {
		name string
		vals map[string]int64
	}{{"devices_by_state", s.DevicesByState}, {"devices_by_category", s.DevicesByCategory}} {
		keys := make([]string, 0, len(m.vals))
		for k := range m.vals {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows = append(rows, []string{m.name, k, strconv.FormatInt(m.vals[k], 10)})
		}
	}
	for _, kv := range []struct {
		k string
		v int64
	}{{"intake", s.Intake}, {"erased", s.Erased}, {"sold", s.Sold}, {"recycled", s.Recycled}, {"recharges_sold", s.RechargesSold},
		{"face_value_cents", s.FaceValueCents}, {"beneficiaries_served", s.BeneficiariesServed}, {"vouchers_issued", s.VouchersIssued},
		{"vouchers_used", s.VouchersUsed}, {"paid_cents", s.PaidCents}, {"savings_cents", s.SavingsCents}} {
		rows = append(rows, []string{kv.k, "", strconv.FormatInt(kv.v, 10)})
	}
	for _, m := range []struct {
		k string
		v *float64
	}{{"median_days_intake_to_ready", s.MedianDaysIntakeToReady}, {"median_days_ready_to_sold", s.MedianDaysReadyToSold}} {
		rows = append(rows, []string{m.k, "", days(m.v)})
	}
	for _, p := range s.VouchersByPrescriber {
		org := strconv.FormatInt(p.OrganizationID, 10)
		rows = append(rows, []string{"vouchers_by_prescriber.issued", org, strconv.FormatInt(p.Issued, 10)},
			[]string{"vouchers_by_prescriber.used", org, strconv.FormatInt(p.Used, 10)},
			[]string{"vouchers_by_prescriber.expired", org, strconv.FormatInt(p.Expired, 10)},
			[]string{"vouchers_by_prescriber.median_days_to_first_use", org, days(p.MedianDaysToFirstUse)})
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// days writes a median as CSV: empty when there is none.
func days(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
