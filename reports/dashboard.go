package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Flow is the lifecycle steps the dashboard follows week by week.
var Flow = []string{figures.Intake, figures.Erased, figures.Ready, figures.Sold, figures.Recycled}

// Week is one week (Monday to Sunday, local days) of the dashboard.
type Week struct {
	Start string           // its Monday, YYYY-MM-DD
	Steps map[string]int64 // by step of Flow
	Sales int64
	Paid  int64 // cents
}

// NamedPrescriber is a prescriber organisation's vouchers with its name.
type NamedPrescriber struct {
	PrescriberVouchers
	Name string
}

// Dashboard is what the dashboard shows over a period: its totals, the
// weeks, and (for the network) the vouchers of each prescriber.
type Dashboard struct {
	Summary
	Weeks       []Week
	Prescribers []NamedPrescriber
}

// Dashboard reads the period's figures week by week, for admins (the
// network, or one site) and site staff (their own site), like Summarise.
func (s *Service) Dashboard(ctx context.Context, c partners.Caller, from, to string, siteID int64) (Dashboard, error) {
	if from == "" && to == "" { // the last twelve weeks
		loc, _ := zone.Load(partners.DefaultTimezone)
		from = s.now().In(loc).AddDate(0, 0, -7*12+1).Format(time.DateOnly)
	}
	sum, err := s.Summarise(ctx, c, from, to, siteID)
	if err != nil {
		return Dashboard{}, err
	}
	out := Dashboard{Summary: sum}
	org, args := "", []any{sum.From, sum.To, append(slices.Clone(Flow), figures.Sales)}
	if sum.SiteID != nil {
		org = " AND org_id = ?"
		args = append(args, *sum.SiteID)
	}
	var rows []struct {
		Day    string
		Metric string
		N      int64
		Cents  int64
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT day, metric, SUM(n) AS n, SUM(cents) AS cents FROM figure_rows
		WHERE day >= ? AND day <= ? AND metric IN ?`+org+` GROUP BY day, metric`, args...).Scan(&rows).Error; err != nil {
		return Dashboard{}, fmt.Errorf("weeks: %w", err)
	}
	start, err := time.Parse(time.DateOnly, sum.From)
	if err != nil {
		return Dashboard{}, fmt.Errorf("period: %w", err)
	}
	last, _ := time.Parse(time.DateOnly, sum.To)
	monday := func(t time.Time) time.Time { return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)) }
	index := map[string]int{}
	for w := monday(start); !w.After(last); w = w.AddDate(0, 0, 7) {
		index[w.Format(time.DateOnly)] = len(out.Weeks)
		out.Weeks = append(out.Weeks, Week{Start: w.Format(time.DateOnly), Steps: map[string]int64{}})
	}
	for _, r := range rows {
		d, err := time.Parse(time.DateOnly, r.Day)
		if err != nil {
			continue
		}
		i, ok := index[monday(d).Format(time.DateOnly)]
		if !ok {
			continue
		}
		if r.Metric == figures.Sales {
			out.Weeks[i].Sales += r.N
			out.Weeks[i].Paid += r.Cents
		} else {
			out.Weeks[i].Steps[r.Metric] += r.N
		}
	}
	if len(sum.VouchersByPrescriber) > 0 {
		var names []partners.Organization
		if err := s.DB.WithContext(ctx).Select("id, name").Where("kind = ?", partners.KindPrescriber).Find(&names).Error; err != nil {
			return Dashboard{}, fmt.Errorf("prescribers: %w", err)
		}
		name := map[int64]string{}
		for _, o := range names {
			name[o.ID] = o.Name
		}
		for _, p := range sum.VouchersByPrescriber {
			out.Prescribers = append(out.Prescribers, NamedPrescriber{PrescriberVouchers: p, Name: name[p.OrganizationID]})
		}
		slices.SortFunc(out.Prescribers, func(a, b NamedPrescriber) int { return cmp.Compare(a.Name, b.Name) })
	}
	return out, nil
}
