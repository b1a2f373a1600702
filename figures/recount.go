package figures

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/database"
)

// Saved is what a buyer saved on one line: a recharge's face value, or a
// device's reference price (from its specs, when there is one), less what
// was paid.
func Saved(kind string, priceCents, faceValueCents, referenceCents int64, free bool) int64 {
	paid := priceCents
	if free {
		paid = 0
	}
	if kind == "recharge" {
		return faceValueCents - paid
	}
	if referenceCents > paid {
		return referenceCents - paid
	}
	return 0
}

// ReferencePrice reads reference_price_cents from a device's specs, 0 when
// absent or not a number.
func ReferencePrice(specs []byte) int64 {
	var m map[string]any
	if len(specs) == 0 || json.Unmarshal(specs, &m) != nil {
		return 0
	}
	switch v := m["reference_price_cents"].(type) {
	case float64:
		return int64(v)
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

// Recount computes every figure from the history: device events and the
// devices as they stand, sales and their lines, vouchers. It is what the
// figures must equal; days are placed in each organisation's zone today.
func Recount(ctx context.Context, db *gorm.DB) (map[Key]Delta, error) {
	db = db.WithContext(ctx)
	zones, err := Zones(db, nil)
	if err != nil {
		return nil, err
	}
	var t Tally
	day := func(at time.Time, org int64) string { return at.In(zones.Of(org)).Format(time.DateOnly) }

	var now []struct {
		SiteID   int64
		State    string
		Category string
		N        int64
	}
	if err := db.Raw(`SELECT site_id, state, category, COUNT(*) AS n FROM devices GROUP BY site_id, state, category`).Scan(&now).Error; err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	for _, r := range now {
		t.Add("", r.SiteID, Devices, r.State+"/"+r.Category, r.N, 0)
	}

	var cards []struct {
		SiteID    int64
		ProductID int64
		Status    string
		N         int64
	}
	if err := db.Raw(`SELECT site_id, product_id, status, COUNT(*) AS n FROM recharge_units GROUP BY site_id, product_id, status`).Scan(&cards).Error; err != nil {
		return nil, fmt.Errorf("recharge cards: %w", err)
	}
	for _, r := range cards {
		t.MoveCards(0, "", r.SiteID, r.Status, r.ProductID, r.N)
	}

	// Steps, and when each device got ready (for the wait until its sale).
	readyAt := map[int64][]time.Time{}
	rows, err := db.Raw(`SELECT e.device_id, e.action, e.to_state, COALESCE(e.site_id, d.site_id), e.at, d.category, d.created_at, e.data
		FROM device_events e JOIN devices d ON d.id = e.device_id ORDER BY e.id`).Rows()
	if err != nil {
		return nil, fmt.Errorf("device events: %w", err)
	}
	for rows.Next() {
		var (
			device, site         int64
			action, to, category string
			at, created          time.Time
			data                 string
		)
		if err := rows.Scan(&device, &action, &to, &site, &at, &category, &created, &data); err != nil {
			rows.Close()
			return nil, fmt.Errorf("device events: %w", err)
		}
		for _, m := range Evidence(action, to, []byte(data)) {
			t.Add(day(at, site), site, m, category, 1, 0)
		}
		step, ok := Steps[action]
		if !ok || (action == "erase" && to != "erased") {
			continue
		}
		t.Add(day(at, site), site, step, category, 1, 0)
		if step == Ready {
			t.Add(day(at, site), site, LagIntakeReady, Days(created, at), 1, 0)
			readyAt[device] = append(readyAt[device], at)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("device events: %w", err)
	}

	type voucher struct {
		org       int64
		created   time.Time
		validTill string
		revoked   bool
		used      bool
		sites     map[int64]bool
	}
	vouchers := map[int64]*voucher{}
	vrows, err := db.Raw(`SELECT id, organization_id, created_at, valid_until, revoked_at IS NOT NULL FROM vouchers`).Rows()
	if err != nil {
		return nil, fmt.Errorf("vouchers: %w", err)
	}
	for vrows.Next() {
		var id int64
		v := &voucher{sites: map[int64]bool{}}
		if err := vrows.Scan(&id, &v.org, &v.created, &v.validTill, &v.revoked); err != nil {
			vrows.Close()
			return nil, fmt.Errorf("vouchers: %w", err)
		}
		vouchers[id] = v
		t.Add(day(v.created, v.org), v.org, VouchersIssued, "", 1, 0)
		t.Add(v.validTill, v.org, VoucherExpiry, "", 1, 0) // until its first use
	}
	vrows.Close()
	if err := vrows.Err(); err != nil {
		return nil, fmt.Errorf("vouchers: %w", err)
	}

	// Sales in order, each with its lines, in one streamed statement: the
	// history is never held in memory, only a day per person and voucher.
	lastPerson, lastVoucher := map[int64]string{}, map[int64]string{}
	type sale struct {
		id, site, person, voucher int64
		date, method              string
		at                        time.Time
		paid                      int64
	}
	var cur *sale
	finish := func(x *sale) {
		if x == nil {
			return
		}
		t.Add(x.date, x.site, Sales, x.method, 1, x.paid)
		Served(&t, x.date, lastPerson[x.person], lastVoucher[x.voucher])
		lastPerson[x.person] = max(lastPerson[x.person], x.date)
		lastVoucher[x.voucher] = max(lastVoucher[x.voucher], x.date)
		if v := vouchers[x.voucher]; v != nil {
			if !v.used {
				v.used = true
				FirstUse(&t, x.date, x.at, v.org, v.created, v.validTill)
			}
			if !v.sites[x.site] {
				v.sites[x.site] = true
				t.Add(day(v.created, x.site), x.site, IssuedUsedHere, "", 1, 0)
			}
		}
	}
	srows, err := db.Raw(`SELECT s.id, s.site_id, s.local_date, s.payment_method, s.beneficiary_id, s.voucher_id, s.created_at,
			l.kind, l.device_id, l.product_id, l.price_cents, l.face_value_cents, l.refund_id IS NOT NULL, d.category, d.specs
		FROM sales s LEFT JOIN sale_lines l ON l.sale_id = s.id LEFT JOIN devices d ON d.id = l.device_id
		ORDER BY s.id, l.id`).Rows()
	if err != nil {
		return nil, fmt.Errorf("sales: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var (
			x                     sale
			kind, category, specs *string
			device, product       *int64
			price, face           *int64
			refunded              *bool
		)
		if err := srows.Scan(&x.id, &x.site, &x.date, &x.method, &x.person, &x.voucher, &x.at,
			&kind, &device, &product, &price, &face, &refunded, &category, &specs); err != nil {
			return nil, fmt.Errorf("sales: %w", err)
		}
		if cur == nil || cur.id != x.id {
			finish(cur)
			cur = &x
		}
		if kind == nil { // a sale without lines
			continue
		}
		free := cur.method == "free"
		p, f := deref(price), deref(face)
		if *kind == "device" && device != nil {
			if times := readyAt[*device]; len(times) > 0 {
				// The last time it got ready, up to the sale itself.
				i := sort.Search(len(times), func(k int) bool { return times[k].After(cur.at) })
				if i > 0 {
					t.SoldAfter(cur.date, cur.site, times[i-1], cur.at)
				}
			}
		}
		if refunded != nil && *refunded {
			continue
		}
		if !free {
			cur.paid += p
		}
		var ref int64
		if specs != nil {
			ref = ReferencePrice([]byte(*specs))
		}
		t.Add(cur.date, cur.site, Savings, "", 0, Saved(*kind, p, f, ref, free))
		if *kind == "device" {
			cat := ""
			if category != nil {
				cat = *category
			}
			t.Add(cur.date, cur.site, Sold, cat, 1, 0)
		} else if product != nil {
			t.Add(cur.date, cur.site, Recharges, strconv.FormatInt(*product, 10), 1, f)
		}
	}
	if err := srows.Err(); err != nil {
		return nil, fmt.Errorf("sales: %w", err)
	}
	finish(cur)
	// Accessories sold, less those brought back: their price in the sale's
	// takings, and what they saved against their price new at the sale.
	var accs []struct {
		SiteID              int64
		LocalDate           string
		PaymentMethod       string
		Kept                int64
		PriceCents          int64
		ReferencePriceCents *int64
	}
	if err := db.Raw(`SELECT s.site_id, s.local_date, s.payment_method, sa.quantity - sa.refunded AS kept, sa.price_cents, sa.reference_price_cents
		FROM sale_accessories sa JOIN sales s ON s.id = sa.sale_id WHERE sa.quantity > sa.refunded`).Scan(&accs).Error; err != nil {
		return nil, fmt.Errorf("accessories sold: %w", err)
	}
	for _, a := range accs {
		free := a.PaymentMethod == "free"
		if !free {
			t.Add(a.LocalDate, a.SiteID, Sales, a.PaymentMethod, 0, a.Kept*a.PriceCents)
		}
		if a.ReferencePriceCents != nil {
			t.Add(a.LocalDate, a.SiteID, Savings, "", 0, a.Kept*Saved("device", a.PriceCents, 0, *a.ReferencePriceCents, free))
		}
	}
	for _, v := range vouchers {
		if !v.used && v.revoked {
			t.Add(v.validTill, v.org, VoucherExpiry, "", -1, 0)
		}
	}
	out := map[Key]Delta{}
	for k, d := range t.rows {
		if d != (Delta{}) {
			out[k] = d
		}
	}
	return out, nil
}

// Served counts a sale on date in the network's distinct counts, given the
// days the person and the voucher were last served before (” never).
func Served(t *Tally, date, lastPerson, lastVoucher string) {
	if lastPerson < date {
		t.Add(date, 0, People, lastPerson, 1, 0)
	}
	if lastVoucher < date {
		t.Add(date, 0, VouchersUsed, lastVoucher, 1, 0)
	}
}

// FirstUse counts a voucher's first use on date (at): for its prescriber,
// the use, the days it waited, and one voucher fewer to end unused.
func FirstUse(t *Tally, date string, at time.Time, org int64, issued time.Time, validUntil string) {
	t.Add(date, org, VoucherFirst, "", 1, 0)
	t.Add(date, org, VoucherLag, Days(issued, at), 1, 0)
	t.Add(validUntil, org, VoucherExpiry, "", -1, 0)
}

// Stored reads the figures as they are (the rebuild request aside).
func Stored(ctx context.Context, db *gorm.DB) (map[Key]Delta, error) {
	var rows []struct {
		Day    string
		OrgID  int64
		Metric string
		Label  string
		N      int64
		Cents  int64
	}
	if err := db.WithContext(ctx).Raw(`SELECT day, org_id, metric, label, n, cents FROM figure_rows WHERE metric <> ?`, pending).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("figures: %w", err)
	}
	out := map[Key]Delta{}
	for _, r := range rows { // a figure's shards summed
		k := Key{r.Day, r.OrgID, r.Metric, r.Label}
		d := out[k]
		out[k] = Delta{d.N + r.N, d.Cents + r.Cents}
	}
	maps.DeleteFunc(out, func(_ Key, d Delta) bool { return d == (Delta{}) })
	return out, nil
}

// Rebuild replaces every figure with a recount, in one transaction that
// also clears the migration's request for it. Sales and events wait
// meanwhile on PostgreSQL (the table is locked), so that none is lost.
func Rebuild(ctx context.Context, db *gorm.DB) (int, error) {
	n, _, err := rebuild(ctx, db, false)
	return n, err
}

// RebuildIfPending rebuilds the figures when the migration asked for it;
// of several processes starting together, one does it.
func RebuildIfPending(ctx context.Context, db *gorm.DB) (bool, error) {
	var asked int64 // a read first: most starts have nothing to do, and take no lock
	if err := db.WithContext(ctx).Table("figures").Where("metric = ?", pending).Count(&asked).Error; err != nil {
		return false, fmt.Errorf("figures: %w", err)
	}
	if asked == 0 {
		return false, nil
	}
	_, done, err := rebuild(ctx, db, true)
	return done, err
}

func rebuild(ctx context.Context, db *gorm.DB, onlyIfPending bool) (int, bool, error) {
	postgres := database.EngineOf(db) == database.Postgres
	n, done := 0, false
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if postgres {
			if err := tx.Exec(`LOCK TABLE figures, figure_deltas IN EXCLUSIVE MODE`).Error; err != nil {
				return fmt.Errorf("lock figures: %w", err)
			}
		}
		if onlyIfPending {
			var asked int64
			if err := tx.Table("figures").Where("metric = ?", pending).Count(&asked).Error; err != nil {
				return fmt.Errorf("figures: %w", err)
			}
			if asked == 0 {
				return nil
			}
		}
		counted, err := Recount(ctx, tx)
		if err != nil {
			return err
		}
		for _, table := range []string{"figures", "figure_deltas"} {
			if err := tx.Exec(`DELETE FROM ` + table).Error; err != nil {
				return fmt.Errorf("clear %s: %w", table, err)
			}
		}
		t := Tally{rows: counted}
		n, done = len(counted), true
		return t.write(tx, false) // straight into the figures
	})
	return n, done, err
}

// Compare lists the figures that differ from the recount, at most limit.
func Compare(stored, counted map[Key]Delta, limit int) []string {
	var keys []Key
	for k := range counted {
		keys = append(keys, k)
	}
	for k := range stored {
		if _, ok := counted[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	var out []string
	for _, k := range keys {
		if stored[k] == counted[k] {
			continue
		}
		if len(out) == limit {
			out = append(out, "…")
			break
		}
		out = append(out, fmt.Sprintf("%s %q org %d day %q: kept %d (%d cents), recount %d (%d cents)",
			k.Metric, k.Label, k.Org, k.Day, stored[k].N, stored[k].Cents, counted[k].N, counted[k].Cents))
	}
	return out
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
