// Package figures keeps the counts reports read, written in the same
// transactions as the events and sales that make them: a report over a year
// reads a year of days, not a year of events. The domains add to a Tally as
// they go and flush it once, in one statement, before their transaction
// commits (on PostgreSQL as deltas, which Fold adds to the figures every
// second; readers read figure_rows, both together); Recount recomputes
// every figure from the history, for `tremplin reports rebuild` and for
// `tremplin check`.
package figures

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/zone"
)

// Metrics. Device steps are counted by category; the others say their label.
const (
	Devices = "devices" // day '': devices now, label state/category, per site
	// Cards is the recharge cards now (day ''), per site, label
	// status/product id: the stock pages read these few rows, never the
	// millions of cards sold over the years (nor the million on the
	// shelves). Cards on their way count at the site that shipped them.
	Cards = "cards"

	Intake    = "intake" // device steps of a day, label category
	Diagnosed = "diagnosed"
	Erased    = "erased"
	Ready     = "ready"
	Sold      = "sold" // devices sold that day and not refunded since
	Recycled  = "recycled"
	Lost      = "lost"
	Returned  = "returned"

	LagIntakeReady = "lag_intake_ready" // label whole days, counted the day the device got ready
	LagReadySold   = "lag_ready_sold"   // label whole days, counted the day of the sale, for the site and the network (org 0)

	Sales     = "sales"     // label payment method: n sales, cents paid (refunds taken off)
	Recharges = "recharges" // label product id: n units, cents face value
	Savings   = "savings"   // cents saved by the people who bought

	// Distinct counts across the network (org 0), label the day the person
	// or voucher was last served before ('' the first time). A site's own
	// distinct counts read its sales, which a site's period keeps small.
	People       = "people"
	VouchersUsed = "vouchers_used"

	VouchersIssued = "vouchers_issued"   // prescriber, the day of issue
	VoucherFirst   = "voucher_first_use" // prescriber, the day of first use
	VoucherLag     = "voucher_lag"       // prescriber, label whole days from issue to first use
	VoucherExpiry  = "voucher_expiry"    // prescriber, day valid_until: vouchers that end unused
	IssuedUsedHere = "issued_used_here"  // site, the day of issue in the site's zone: vouchers issued then, used there

	pending = "rebuild" // the migration's request for a rebuild
)

// Steps maps a device's lifecycle action to the step it counts, when it
// counts one (the sale is counted by the sale itself, net of refunds).
var Steps = map[string]string{
	"register": Intake, "diagnose": Diagnosed, "erase": Erased, "mark_ready": Ready,
	"recycle": Recycled, "mark_lost": Lost, "refund": Returned,
}

// Evidence metrics: what a step's event data proves beyond the step.
const (
	LockedFound  = "locked"        // a diagnosis that found a lock, label category
	ErasedProven = "erased_proven" // an erasure passed with the tool's report, label category
)

// Evidence is the evidence metrics a device's event counts, read from its
// data (the same on the service's write and on a recount).
func Evidence(action, to string, data []byte) []string {
	switch {
	case action == "diagnose":
		var d struct {
			Locks map[string]string `json:"locks"`
		}
		if json.Unmarshal(data, &d) == nil {
			for _, r := range d.Locks {
				if r == "locked" {
					return []string{LockedFound}
				}
			}
		}
	case action == "erase" && to == "erased":
		var d struct {
			Report string `json:"report_sha256"`
		}
		if json.Unmarshal(data, &d) == nil && d.Report != "" {
			return []string{ErasedProven}
		}
	}
	return nil
}

// Key is one figure's row.
type Key struct {
	Day    string
	Org    int64
	Metric string
	Label  string
}

// Delta is what a transaction adds to one figure.
type Delta struct{ N, Cents int64 }

type dated struct {
	at  time.Time
	key Key
}

// Tally gathers a transaction's changes. The zero value is ready to use.
type Tally struct {
	rows  map[Key]Delta
	later map[dated]Delta // days still to place in their organisation's zone
}

// Add counts n and cents on a known local day (or day "" for counts now).
func (t *Tally) Add(day string, org int64, metric, label string, n, cents int64) {
	if t.rows == nil {
		t.rows = map[Key]Delta{}
	}
	k := Key{day, org, metric, label}
	d := t.rows[k]
	t.rows[k] = Delta{d.N + n, d.Cents + cents}
	if org == 0 && len(day) == len(time.DateOnly) && ByMonth[metric] {
		t.Add(day[:len("2006-01")], 0, Monthly(metric), label, n, cents)
	}
}

// ByMonth are the network's figures (org 0) that are kept once more per
// month (day YYYY-MM, metric Monthly(m)), each with the same label as the
// day's: those with a label of many values (the day a person was last
// served, a wait in days), which a year of days makes hundreds of
// thousands of rows. A period reads its whole months from these, and only
// the days at its edges from the days'.
var ByMonth = map[string]bool{People: true, VouchersUsed: true, LagReadySold: true}

// Monthly is the metric under which m is kept per month.
func Monthly(m string) string { return m + "/month" }

// Ranges splits the local days [first, last] into the whole months they
// cover (months, as YYYY-MM, empty when none) and the ranges of days left at
// either edge.
func Ranges(first, last string) (months [2]string, days [][2]string) {
	f, err1 := time.Parse(time.DateOnly, first)
	l, err2 := time.Parse(time.DateOnly, last)
	if err1 != nil || err2 != nil || l.Before(f) {
		return months, [][2]string{{first, last}}
	}
	start := f // the first whole month's first day
	if f.Day() != 1 {
		start = time.Date(f.Year(), f.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	end := time.Date(l.Year(), l.Month()+1, 1, 0, 0, 0, 0, time.UTC) // after the last whole month
	if l.AddDate(0, 0, 1).Day() != 1 {
		end = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	if !start.Before(end) {
		return months, [][2]string{{first, last}}
	}
	months = [2]string{start.Format("2006-01"), end.AddDate(0, -1, 0).Format("2006-01")}
	if f.Before(start) {
		days = append(days, [2]string{first, start.AddDate(0, 0, -1).Format(time.DateOnly)})
	}
	if !end.After(l) {
		days = append(days, [2]string{end.Format(time.DateOnly), last})
	}
	return months, days
}

// AddAt counts on the local day of at in org's time zone, found at Flush.
func (t *Tally) AddAt(at time.Time, org int64, metric, label string, n, cents int64) {
	if t.later == nil {
		t.later = map[dated]Delta{}
	}
	k := dated{at.UTC().Truncate(time.Second), Key{"", org, metric, label}}
	d := t.later[k]
	t.later[k] = Delta{d.N + n, d.Cents + cents}
}

// Move counts a device leaving one state (and site) for another.
func (t *Tally) Move(fromSite int64, from string, toSite int64, to, category string) {
	if from != "" {
		t.Add("", fromSite, Devices, from+"/"+category, -1, 0)
	}
	t.Add("", toSite, Devices, to+"/"+category, 1, 0)
}

// MoveCards counts n cards of a product leaving a status at one site for
// another status (and site); from "" is cards that arrive.
func (t *Tally) MoveCards(fromSite int64, from string, toSite int64, to string, product, n int64) {
	p := "/" + strconv.FormatInt(product, 10)
	if from != "" {
		t.Add("", fromSite, Cards, from+p, -n, 0)
	}
	t.Add("", toSite, Cards, to+p, n, 0)
}

// SoldAfter counts a device sold on day at site after waiting since it got
// ready, for the site and again for the network (org 0): a network's waits
// over a year are then a few rows a day, not a few per site and day.
func (t *Tally) SoldAfter(day string, site int64, ready, sold time.Time) {
	wait := Days(ready, sold)
	t.Add(day, site, LagReadySold, wait, 1, 0)
	t.Add(day, 0, LagReadySold, wait, 1, 0)
}

// Days is a whole number of days between two instants, as a label.
func Days(from, to time.Time) string {
	d := int64(to.Sub(from) / (24 * time.Hour))
	return strconv.FormatInt(max(d, 0), 10)
}

// Flush writes the tally, 500 rows a statement (and, when some days wait
// for their zone, one read of the organisations' zones first). On
// PostgreSQL the rows are appended to figure_deltas, which Fold adds to the
// figures later; SQLite adds them to the figures at once, in key order so
// that transactions would lock them in the same order.
func (t *Tally) Flush(tx *gorm.DB) error {
	return t.write(tx, deltasOf(tx))
}

// write runs the tally's statements: as deltas, or straight into the
// figures.
func (t *Tally) write(tx *gorm.DB, deltas bool) error {
	q, args, err := t.statements(tx, deltas)
	if err != nil {
		return err
	}
	for i := range q {
		if err := tx.Exec(q[i], args[i]...).Error; err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	return nil
}

// AddTo adds the tally's writes to a batch, so that a transaction's last
// writes travel together; a tally of more than one statement is written
// at once instead, a batch being one statement on PostgreSQL. The tally is
// empty afterwards.
func (t *Tally) AddTo(b *database.Batch, tx *gorm.DB) error {
	q, args, err := t.statements(tx, deltasOf(tx))
	if err != nil || len(q) > 1 {
		for i := range q {
			if err := tx.Exec(q[i], args[i]...).Error; err != nil {
				return fmt.Errorf("figures: %w", err)
			}
		}
		return err
	}
	for i := range q {
		b.Add(q[i], "0", args[i]...)
	}
	return nil
}

// Statements are the writes of a tally whose days are all known (no
// AddAt), for a transaction GORM does not hold (an import's pgx
// transaction): appends to the deltas on PostgreSQL, upserts of the figures
// on SQLite. The tally is empty afterwards.
func (t *Tally) Statements(engine database.Engine) ([]string, [][]any, error) {
	if len(t.later) > 0 {
		return nil, nil, errors.New("figures: days still to place in their zone")
	}
	return t.statements(nil, engine == database.Postgres)
}

// statements places the days still waiting for their zone, then makes the
// writes of the tally (appends to the deltas, or upserts of the figures),
// which is empty afterwards.
func (t *Tally) statements(tx *gorm.DB, deltas bool) ([]string, [][]any, error) {
	if len(t.later) > 0 {
		orgs := make([]int64, 0, len(t.later))
		for k := range t.later {
			orgs = append(orgs, k.key.Org)
		}
		zones, err := Zones(tx, orgs)
		if err != nil {
			return nil, nil, err
		}
		for k, d := range t.later {
			k.key.Day = k.at.In(zones.Of(k.key.Org)).Format(time.DateOnly)
			t.Add(k.key.Day, k.key.Org, k.key.Metric, k.key.Label, d.N, d.Cents)
		}
		t.later = nil
	}
	keys := make([]Key, 0, len(t.rows))
	for k, d := range t.rows {
		if d != (Delta{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	q, args := write(keys, t.rows, deltas)
	t.rows = nil
	return q, args, nil
}

// deltasOf tells whether tx's transactions append their figures to the
// deltas (PostgreSQL) rather than upsert them (SQLite).
func deltasOf(tx *gorm.DB) bool { return database.EngineOf(tx) == database.Postgres }

// Fold adds the deltas to the figures and removes them, in one statement:
// what a second of sales added to a figure becomes one upsert. Several
// processes may fold at once: a delta is removed by one of them only, and
// the figures are upserted in key order. It returns how many figures
// changed. SQLite writes no deltas.
func Fold(ctx context.Context, db *gorm.DB) (int64, error) {
	if !deltasOf(db) {
		return 0, nil
	}
	res := db.WithContext(ctx).Exec(`WITH moved AS (DELETE FROM figure_deltas RETURNING day, org_id, metric, label, n, cents)
		INSERT INTO figures (day, org_id, metric, label, shard, n, cents)
		SELECT day, org_id, metric, label, 0, SUM(n), SUM(cents) FROM moved GROUP BY day, org_id, metric, label
		HAVING SUM(n) <> 0 OR SUM(cents) <> 0 ORDER BY day, org_id, metric, label
		ON CONFLICT (day, org_id, metric, label, shard) DO UPDATE SET n = figures.n + excluded.n, cents = figures.cents + excluded.cents`)
	if res.Error != nil {
		return 0, fmt.Errorf("fold figures: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// write makes the statements that add rows to the figures, 500 rows each
// (six parameters a row, far below either engine's limit): appends to the
// deltas, or upserts of the figures. A figure may have several rows
// (shard, a column from when each connection wrote its own); readers sum
// them, and these writes use shard 0.
func write(keys []Key, rows map[Key]Delta, deltas bool) (queries []string, args [][]any) {
	const chunk = 500
	for len(keys) > 0 {
		part := keys[:min(chunk, len(keys))]
		keys = keys[len(part):]
		var sb strings.Builder
		a := make([]any, 0, 6*len(part))
		row := "(?, ?, ?, ?, ?, ?)"
		if deltas {
			sb.WriteString("INSERT INTO figure_deltas (day, org_id, metric, label, n, cents) VALUES ")
		} else {
			sb.WriteString("INSERT INTO figures (day, org_id, metric, label, n, cents, shard) VALUES ")
			row = "(?, ?, ?, ?, ?, ?, 0)"
		}
		for i, k := range part {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(row)
			d := rows[k]
			a = append(a, k.Day, k.Org, k.Metric, k.Label, d.N, d.Cents)
		}
		if !deltas {
			sb.WriteString(" ON CONFLICT (day, org_id, metric, label, shard) DO UPDATE SET n = figures.n + excluded.n, cents = figures.cents + excluded.cents")
		}
		queries, args = append(queries, sb.String()), append(args, a)
	}
	return queries, args
}

func compareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Org, b.Org), cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Label, b.Label))
}

// ZoneMap gives each organisation's time zone.
type ZoneMap map[int64]*time.Location

// Of is org's zone, Paris when unknown (the network's default).
func (z ZoneMap) Of(org int64) *time.Location {
	if l, ok := z[org]; ok {
		return l
	}
	l, _ := zone.Load("Europe/Paris")
	return l
}

// Zones reads the time zones of orgs (every organisation when orgs is nil).
func Zones(db *gorm.DB, orgs []int64) (ZoneMap, error) {
	var rows []struct {
		ID       int64
		Timezone string
	}
	q := db.Table("organizations").Select("id, timezone")
	if orgs != nil {
		slices.Sort(orgs)
		q = q.Where("id IN ?", slices.Compact(orgs))
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("time zones: %w", err)
	}
	out := ZoneMap{}
	for _, r := range rows {
		if l, err := zone.Load(r.Timezone); err == nil {
			out[r.ID] = l
		}
	}
	return out, nil
}
