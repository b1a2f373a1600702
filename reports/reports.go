// Package reports answers the questions donors and funders ask: how many
// devices came in, were erased, sold or recycled; how many recharges, how
// many people served, how much they saved.
package reports

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// Service reads the other domains' tables; it writes nothing.
type Service struct {
	DB  *database.DB
	Now func() time.Time
}

// Summary is the report of a period.
type Summary struct {
	From                string           `json:"from"`
	To                  string           `json:"to"`
	SiteID              *int64           `json:"site_id"`
	Timezone            string           `json:"timezone"`
	DevicesByState      map[string]int64 `json:"devices_by_state"`
	DevicesByCategory   map[string]int64 `json:"devices_by_category"`
	Intake              int64            `json:"intake"`
	Erased              int64            `json:"erased"`
	Sold                int64            `json:"sold"`
	Recycled            int64            `json:"recycled"`
	RechargesSold       int64            `json:"recharges_sold"`
	FaceValueCents      int64            `json:"face_value_cents"`
	BeneficiariesServed int64            `json:"beneficiaries_served"`
	VouchersIssued      int64            `json:"vouchers_issued"` // for a site: issued in the period and used there
	VouchersUsed        int64            `json:"vouchers_used"`
	PaidCents           int64            `json:"paid_cents"`
	SavingsCents        int64            `json:"savings_cents"`
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
	loc, _ := time.LoadLocation(partners.DefaultTimezone)
	out := Summary{DevicesByState: map[string]int64{}, DevicesByCategory: map[string]int64{}}
	if siteID != 0 {
		var site partners.Organization
		if err := db.Where("id = ? AND kind IN ?", siteID, []partners.Kind{partners.KindWarehouse, partners.KindSpace}).Take(&site).Error; err != nil {
			return Summary{}, fmt.Errorf("site %d: %w", siteID, apperr.ErrNotFound)
		}
		loc = site.Location()
		out.SiteID = &siteID
	}
	out.Timezone = loc.String()
	now := s.now().In(loc)
	v := &apperr.ValidationError{}
	start, end, err := period(from, to, now, loc)
	if err != nil {
		v.Field("from", "%v", err)
	}
	if err := v.Err(); err != nil {
		return Summary{}, err
	}
	out.From, out.To = start.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly)
	startUTC, endUTC := start.UTC(), end.UTC()

	site := func(col string) (string, []any) {
		if siteID == 0 {
			return "", nil
		}
		return " AND " + col + " = ?", []any{siteID}
	}
	// Devices now, by state and category.
	where, args := site("site_id")
	var groups []struct {
		State    string
		Category string
		N        int64
	}
	if err := db.Raw("SELECT state, category, COUNT(*) AS n FROM devices WHERE 1 = 1"+where+" GROUP BY state, category", args...).Scan(&groups).Error; err != nil {
		return Summary{}, fmt.Errorf("devices: %w", err)
	}
	for _, g := range groups {
		out.DevicesByState[g.State] += g.N
		out.DevicesByCategory[g.Category] += g.N
	}
	// Lifecycle steps within the period, from the append-only history.
	where, args = site("site_id")
	var steps []struct {
		Action  string
		ToState string
		N       int64
	}
	if err := db.Raw("SELECT action, to_state, COUNT(*) AS n FROM device_events WHERE action IN ('register', 'erase', 'recycle') AND at >= ? AND at < ?"+where+
		" GROUP BY action, to_state", append([]any{startUTC, endUTC}, args...)...).Scan(&steps).Error; err != nil {
		return Summary{}, fmt.Errorf("device steps: %w", err)
	}
	for _, st := range steps {
		switch {
		case st.Action == "register":
			out.Intake += st.N
		case st.Action == "erase" && st.ToState == "erased":
			out.Erased += st.N
		case st.Action == "recycle":
			out.Recycled += st.N
		}
	}
	// Sales within the period, in one pass over their lines. Devices have no
	// list price: their saving is the complement of the paid price to the
	// reference price recorded in their specs, when there is one.
	where, args = site("s.site_id")
	var lines []struct {
		Kind      string
		N         int64
		Paid      int64
		FaceValue int64
		Saved     int64
	}
	paid := "CASE WHEN s.payment_method = 'free' THEN 0 ELSE l.price_cents END"
	ref := "CAST(" + jsonNumber(s.DB.Engine, "d.specs", "reference_price_cents") + " AS BIGINT)"
	if err := db.Raw(`SELECT l.kind, COUNT(*) AS n, COALESCE(SUM(`+paid+`), 0) AS paid, COALESCE(SUM(l.face_value_cents), 0) AS face_value,
			COALESCE(SUM(CASE WHEN l.kind = 'recharge' THEN l.face_value_cents - `+paid+`
			                  WHEN `+ref+` > `+paid+` THEN `+ref+` - `+paid+` ELSE 0 END), 0) AS saved
		FROM sale_lines l JOIN sales s ON s.id = l.sale_id LEFT JOIN devices d ON d.id = l.device_id
		WHERE l.refund_id IS NULL AND s.created_at >= ? AND s.created_at < ?`+where+` GROUP BY l.kind`,
		append([]any{startUTC, endUTC}, args...)...).Scan(&lines).Error; err != nil {
		return Summary{}, fmt.Errorf("sales: %w", err)
	}
	for _, l := range lines {
		out.PaidCents += l.Paid
		out.SavingsCents += l.Saved
		if l.Kind == "device" {
			out.Sold = l.N
		} else {
			out.RechargesSold = l.N
			out.FaceValueCents = l.FaceValue
		}
	}
	var people struct {
		Beneficiaries int64
		Vouchers      int64
	}
	if err := db.Raw(`SELECT COUNT(DISTINCT s.beneficiary_id) AS beneficiaries, COUNT(DISTINCT s.voucher_id) AS vouchers
		FROM sales s WHERE s.created_at >= ? AND s.created_at < ?`+where, append([]any{startUTC, endUTC}, args...)...).Scan(&people).Error; err != nil {
		return Summary{}, fmt.Errorf("people served: %w", err)
	}
	out.BeneficiariesServed, out.VouchersUsed = people.Beneficiaries, people.Vouchers
	// Vouchers are issued by prescribers, not sites: for one site, count the
	// vouchers issued in the period that were used there.
	issued := `SELECT COUNT(*) FROM vouchers v WHERE v.created_at >= ? AND v.created_at < ?`
	issuedArgs := []any{startUTC, endUTC}
	if siteID != 0 {
		issued += ` AND EXISTS (SELECT 1 FROM sales s WHERE s.voucher_id = v.id AND s.site_id = ?)`
		issuedArgs = append(issuedArgs, siteID)
	}
	if err := db.Raw(issued, issuedArgs...).Scan(&out.VouchersIssued).Error; err != nil {
		return Summary{}, fmt.Errorf("vouchers issued: %w", err)
	}
	return out, nil
}

func jsonNumber(engine database.Engine, col, key string) string {
	if engine == database.Postgres {
		return "NULLIF(" + col + "::jsonb ->> '" + key + "', '')"
	}
	return "json_extract(" + col + ", '$." + key + "')"
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return database.Now()
}

// period turns from and to (inclusive local days) into [start, end). By
// default, the current month to today.
func period(from, to string, now time.Time, loc *time.Location) (time.Time, time.Time, error) {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	last := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	var err error
	if from != "" {
		if start, err = time.ParseInLocation(time.DateOnly, from, loc); err != nil {
			return start, last, fmt.Errorf("from and to are dates such as 2026-01-31")
		}
	}
	if to != "" {
		if last, err = time.ParseInLocation(time.DateOnly, to, loc); err != nil {
			return start, last, fmt.Errorf("from and to are dates such as 2026-01-31")
		}
	}
	if last.Before(start) {
		return start, last, fmt.Errorf("from (%s) is after to (%s)", start.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	if last.Sub(start) > 3*366*24*time.Hour {
		return start, last, fmt.Errorf("a report covers three years at most")
	}
	return start, last.AddDate(0, 0, 1), nil
}

// WriteCSV writes the summary as metric,key,value lines.
func WriteCSV(w io.Writer, s Summary) error {
	cw := csv.NewWriter(w)
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
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}
