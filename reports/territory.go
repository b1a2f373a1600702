package reports

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/internal/zone"
	"github.com/tremplin/tremplin/partners"
)

// Departement is the French département of a postal code: its first two
// digits, three overseas (971 Guadeloupe to 976 Mayotte, 98x), Corsica
// 2A or 2B; "" when unknown. An anonymised person keeps exactly this.
func Departement(postalCode string) string {
	pc := postalCode
	switch {
	case len(pc) < 2:
		return ""
	case (pc[:2] == "97" || pc[:2] == "98") && len(pc) >= 3:
		return pc[:3]
	case pc[:2] == "20" && len(pc) >= 3:
		if pc[2] <= '1' {
			return "2A"
		}
		return "2B"
	}
	return pc[:2]
}

// served is one person's purchases of one kind (a device category, or
// "recharge") in one month, through one prescriber.
type served struct {
	Departement string
	Month       string
	Person      int64
	Prescriber  int64
	Category    string
	Devices     int64
	Recharges   int64
	Accessories int64
}

// servedIn reads who bought what over [from, to] (local days), refunded
// lines left out, grouped per person: the territorial reports count people
// once per cell.
func (s *Service) servedIn(ctx context.Context, from, to string) ([]served, error) {
	var rows []struct {
		PostalCode     *string
		Month          string
		BeneficiaryID  int64
		OrganizationID int64
		Kind           string
		Category       *string
		N              int64
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT b.postal_code, substr(s.local_date, 1, 7) AS month, s.beneficiary_id, v.organization_id,
			l.kind, d.category, COUNT(*) AS n
		FROM sale_lines l JOIN sales s ON s.id = l.sale_id JOIN beneficiaries b ON b.id = s.beneficiary_id
		JOIN vouchers v ON v.id = s.voucher_id LEFT JOIN devices d ON d.id = l.device_id
		WHERE l.refund_id IS NULL AND s.local_date >= ? AND s.local_date <= ?
		GROUP BY b.postal_code, substr(s.local_date, 1, 7), s.beneficiary_id, v.organization_id, l.kind, d.category`, from, to).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("people served: %w", err)
	}
	out := make([]served, 0, len(rows))
	for _, r := range rows {
		x := served{Month: r.Month, Person: r.BeneficiaryID, Prescriber: r.OrganizationID, Category: "recharge"}
		if r.PostalCode != nil {
			x.Departement = Departement(*r.PostalCode)
		}
		if r.Kind == "device" && r.Category != nil {
			x.Category, x.Devices = *r.Category, r.N
		} else {
			x.Recharges = r.N
		}
		out = append(out, x)
	}
	return out, nil
}

// accessoriesServedIn reads the accessories each person took over [from,
// to] (local days), less those brought back, like servedIn.
func (s *Service) accessoriesServedIn(ctx context.Context, from, to string) ([]served, error) {
	var rows []struct {
		PostalCode     *string
		BeneficiaryID  int64
		OrganizationID int64
		N              int64
	}
	if err := s.DB.WithContext(ctx).Raw(`SELECT b.postal_code, s.beneficiary_id, v.organization_id, SUM(sa.quantity - sa.refunded) AS n
		FROM sale_accessories sa JOIN sales s ON s.id = sa.sale_id JOIN beneficiaries b ON b.id = s.beneficiary_id
		JOIN vouchers v ON v.id = s.voucher_id
		WHERE s.local_date >= ? AND s.local_date <= ?
		GROUP BY b.postal_code, s.beneficiary_id, v.organization_id HAVING SUM(sa.quantity - sa.refunded) > 0`, from, to).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("accessories given: %w", err)
	}
	out := make([]served, 0, len(rows))
	for _, r := range rows {
		x := served{Person: r.BeneficiaryID, Prescriber: r.OrganizationID, Category: "accessory", Accessories: r.N}
		if r.PostalCode != nil {
			x.Departement = Departement(*r.PostalCode)
		}
		out = append(out, x)
	}
	return out, nil
}

// territoryPeriod checks the caller (admins only: these cover the whole
// network) and the period, in the network's zone, ending by default on the
// network's latest day.
func (s *Service) territoryPeriod(ctx context.Context, c partners.Caller, from, to string) (string, string, error) {
	if err := c.Require(partners.RoleAdmin); err != nil {
		return "", "", err
	}
	if to == "" {
		var err error
		if to, err = s.networkToday(ctx); err != nil {
			return "", "", err
		}
	}
	loc, _ := zone.Load(partners.DefaultTimezone)
	start, end, err := period(from, to, s.now().In(loc), loc)
	if err != nil {
		return "", "", err
	}
	return start.Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly), nil
}

// All is the margin of the open-data table: every département, or every
// category.
const All = "total"

// MinPeople is the smallest count of people the open data publishes.
const MinPeople = 5

// OpenCell is one line of the open data: people (once each), devices and
// recharge cards of a département, a month and a category; Hidden when too
// few people for the figures to be published (or to protect such a line).
type OpenCell struct {
	Departement string
	Month       string
	Category    string
	People      int64
	Devices     int64
	Recharges   int64
	Hidden      bool
	Primary     bool // hidden for itself, not to protect another
}

// OpenData aggregates the period by département, month and category, with
// margins (every département: "total"; every category: "total"), and hides
// every line of fewer than MinPeople people, then in each département's
// month and each category's month as many more lines as keep the hidden
// ones from being worked out from the margins.
func (s *Service) OpenData(ctx context.Context, c partners.Caller, from, to string) ([]OpenCell, string, string, error) {
	first, last, err := s.territoryPeriod(ctx, c, from, to)
	if err != nil {
		return nil, "", "", err
	}
	rows, err := s.servedIn(ctx, first, last)
	if err != nil {
		return nil, "", "", err
	}
	return Suppress(Aggregate(rows)), first, last, nil
}

type cellKey struct{ dep, month, cat string }

// Aggregate counts people once per cell, margins included.
func Aggregate(rows []served) []OpenCell {
	cells := map[cellKey]*OpenCell{}
	people := map[cellKey]map[int64]bool{}
	for _, r := range rows {
		dep := r.Departement
		if dep == "" {
			dep = "inconnu"
		}
		for _, k := range []cellKey{{dep, r.Month, r.Category}, {All, r.Month, r.Category}, {dep, r.Month, All}, {All, r.Month, All}} {
			c := cells[k]
			if c == nil {
				c = &OpenCell{Departement: k.dep, Month: k.month, Category: k.cat}
				cells[k] = c
				people[k] = map[int64]bool{}
			}
			c.Devices += r.Devices
			c.Recharges += r.Recharges
			people[k][r.Person] = true
		}
	}
	out := make([]OpenCell, 0, len(cells))
	for k, c := range cells {
		c.People = int64(len(people[k]))
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b OpenCell) int {
		return cmp.Or(cmp.Compare(a.Month, b.Month), compareMargin(a.Departement, b.Departement), compareMargin(a.Category, b.Category))
	})
	return out
}

// compareMargin sorts names, the margin last.
func compareMargin(a, b string) int {
	if (a == All) != (b == All) {
		if a == All {
			return 1
		}
		return -1
	}
	return cmp.Compare(a, b)
}

// Suppress hides the lines of fewer than MinPeople people, then protects
// them: in every group that a margin sums (the départements of one month
// and category, the categories of one département and month), a line
// hidden alone could be recovered by subtraction, so the smallest other
// line of the group is hidden too, or the margin when there is none. It
// repeats until no group holds a lone hidden line.
func Suppress(cells []OpenCell) []OpenCell {
	for i := range cells {
		if cells[i].People < MinPeople {
			cells[i].Hidden, cells[i].Primary = true, true
		}
	}
	type group struct {
		margin int
		inner  []int
	}
	groups := map[string]*group{}
	add := func(name string, i int, isMargin bool) {
		g := groups[name]
		if g == nil {
			g = &group{margin: -1}
			groups[name] = g
		}
		if isMargin {
			g.margin = i
		} else {
			g.inner = append(g.inner, i)
		}
	}
	for i, c := range cells {
		add("cat|"+c.Month+"|"+c.Category, i, c.Departement == All)
		add("dep|"+c.Month+"|"+c.Departement, i, c.Category == All)
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	slices.Sort(names) // the same answer on every run
	for changed := true; changed; {
		changed = false
		for _, n := range names {
			g := groups[n]
			hidden, pick := 0, -1
			for _, i := range g.inner {
				if cells[i].Hidden {
					hidden++
				} else if pick < 0 || cells[i].People < cells[pick].People {
					pick = i
				}
			}
			if g.margin >= 0 && cells[g.margin].Hidden {
				hidden++
			} else if pick < 0 && g.margin >= 0 {
				pick = g.margin
			}
			if hidden == 1 && pick >= 0 {
				cells[pick].Hidden = true
				changed = true
			}
		}
	}
	return cells
}

// OpenDataColumns are the open data's columns, documented in API.md.
var OpenDataColumns = []string{"departement", "month", "category", "people", "devices", "recharges"}

// WriteOpenData writes the cells as CSV; a hidden line keeps its place with
// its three figures empty.
func WriteOpenData(w io.Writer, cells []OpenCell) error {
	cw := csvfile.NewWriter(w)
	if err := cw.Write(OpenDataColumns); err != nil {
		return err
	}
	for _, c := range cells {
		rec := []string{c.Departement, c.Month, c.Category, "", "", ""}
		if !c.Hidden {
			rec[3], rec[4], rec[5] = strconv.FormatInt(c.People, 10), strconv.FormatInt(c.Devices, 10), strconv.FormatInt(c.Recharges, 10)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FunderLine is people served (once each), devices and recharge cards of
// one département or one prescriber organisation.
type FunderLine struct {
	Departement    string `json:"departement,omitempty"`
	OrganizationID int64  `json:"organization_id,omitempty"`
	Name           string `json:"name,omitempty"`
	People         int64  `json:"people"`
	Devices        int64  `json:"devices"`
	Recharges      int64  `json:"recharges"`
	Accessories    int64  `json:"accessories"`
}

// Funders is the funder report of a period.
type Funders struct {
	From         string       `json:"from"`
	To           string       `json:"to"`
	Departements []FunderLine `json:"departements"`
	Prescribers  []FunderLine `json:"prescribers"`
	Total        FunderLine   `json:"total"`
}

// FunderReport counts people served over the period per département (of
// their postal code; "inconnu" without one) and per prescriber
// organisation that referred them, for admins.
func (s *Service) FunderReport(ctx context.Context, c partners.Caller, from, to string) (Funders, error) {
	first, last, err := s.territoryPeriod(ctx, c, from, to)
	if err != nil {
		return Funders{}, err
	}
	rows, err := s.servedIn(ctx, first, last)
	if err != nil {
		return Funders{}, err
	}
	given, err := s.accessoriesServedIn(ctx, first, last)
	if err != nil {
		return Funders{}, err
	}
	rows = append(rows, given...)
	type acc struct {
		line   FunderLine
		people map[int64]bool
	}
	deps, orgs := map[string]*acc{}, map[int64]*acc{}
	total := &acc{people: map[int64]bool{}}
	for _, r := range rows {
		dep := r.Departement
		if dep == "" {
			dep = "inconnu"
		}
		if deps[dep] == nil {
			deps[dep] = &acc{line: FunderLine{Departement: dep}, people: map[int64]bool{}}
		}
		if orgs[r.Prescriber] == nil {
			orgs[r.Prescriber] = &acc{line: FunderLine{OrganizationID: r.Prescriber}, people: map[int64]bool{}}
		}
		for _, a := range []*acc{deps[dep], orgs[r.Prescriber], total} {
			a.line.Devices += r.Devices
			a.line.Recharges += r.Recharges
			a.line.Accessories += r.Accessories
			a.people[r.Person] = true
		}
	}
	var names []partners.Organization
	if err := s.DB.WithContext(ctx).Select("id, name").Where("kind = ?", partners.KindPrescriber).Find(&names).Error; err != nil {
		return Funders{}, fmt.Errorf("prescribers: %w", err)
	}
	out := Funders{From: first, To: last, Departements: []FunderLine{}, Prescribers: []FunderLine{}}
	for _, a := range deps {
		a.line.People = int64(len(a.people))
		out.Departements = append(out.Departements, a.line)
	}
	for _, o := range names {
		a := orgs[o.ID]
		if a == nil {
			a = &acc{line: FunderLine{OrganizationID: o.ID}}
		}
		a.line.Name, a.line.People = o.Name, int64(len(a.people))
		out.Prescribers = append(out.Prescribers, a.line)
	}
	total.line.People = int64(len(total.people))
	out.Total = total.line
	slices.SortFunc(out.Departements, func(a, b FunderLine) int { return cmp.Compare(a.Departement, b.Departement) })
	slices.SortFunc(out.Prescribers, func(a, b FunderLine) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// WriteFundersCSV writes one line per département, then per prescriber
// organisation, then the total: scope,key,name,people,devices,recharges,
// accessories.
func WriteFundersCSV(w io.Writer, f Funders) error {
	cw := csvfile.NewWriter(w)
	_ = cw.Write([]string{"scope", "key", "name", "people", "devices", "recharges", "accessories"})
	line := func(scope, key, name string, l FunderLine) {
		_ = cw.Write([]string{scope, key, name, strconv.FormatInt(l.People, 10), strconv.FormatInt(l.Devices, 10), strconv.FormatInt(l.Recharges, 10),
			strconv.FormatInt(l.Accessories, 10)})
	}
	for _, l := range f.Departements {
		line("departement", l.Departement, "", l)
	}
	for _, l := range f.Prescribers {
		line("prescriber", strconv.FormatInt(l.OrganizationID, 10), l.Name, l)
	}
	line("total", "", "", f.Total)
	cw.Flush()
	return cw.Error()
}
