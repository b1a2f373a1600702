package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"
)

const reportRows = 1_000_000

// reportSummary seeds a year of activity (1M device events, 1M sales with
// their lines) and times GET /api/v1/reports/summary over that year.
func reportSummary(ctx context.Context, e *env) (Result, error) {
	db, ids, err := e.withStock(ctx, [2]string{"space", "Espace rapport"}, [2]string{"prescriber", "CCAS rapport"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	space, presc := ids[0], ids[1]
	ben, err := insertBeneficiary(ctx, db, presc)
	if err != nil {
		return Result{}, err
	}
	var voucher, firstDevice, warehouse int64
	steps := []struct {
		q    string
		dest *int64
	}{
		{`SELECT MIN(id) FROM devices`, &firstDevice},
		{`SELECT MIN(id) FROM organizations WHERE kind = 'warehouse'`, &warehouse},
	}
	for _, s := range steps {
		if err := db.QueryRowContext(ctx, s.q).Scan(s.dest); err != nil {
			return Result{}, fmt.Errorf("seed: %w", err)
		}
	}
	if err := db.QueryRowContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
		valid_until, expires_at, status, created_at) VALUES ('RAPPORT00002', $1, $2, '[]', 10, 10, '2099-01-01', now(), 'active', now()) RETURNING id`, ben, presc).Scan(&voucher); err != nil {
		return Result{}, err
	}
	seed := []string{
		fmt.Sprintf(`INSERT INTO sales (site_id, voucher_id, beneficiary_id, payment_method, total_cents, local_date, created_at)
			SELECT %d, %d, %d, (ARRAY['cash','card','free'])[1 + g %% 3], 3000, to_char(ts, 'YYYY-MM-DD'), ts
			FROM (SELECT g, now() - (g %% 365) * interval '1 day' - (g %% 86400) * interval '1 second' AS ts FROM generate_series(1, %d) g) x`,
			space, voucher, ben, reportRows),
		fmt.Sprintf(`INSERT INTO sale_lines (sale_id, kind, device_id, description, price_cents, face_value_cents)
			SELECT id, CASE WHEN id %% 2 = 0 THEN 'device' ELSE 'recharge' END, CASE WHEN id %% 2 = 0 THEN %d + id %% %d END, 'x', 3000,
			       CASE WHEN id %% 2 = 1 THEN 1000 END
			FROM sales WHERE voucher_id = %d`, firstDevice, scanDevices, voucher),
		fmt.Sprintf(`INSERT INTO device_events (device_id, action, from_state, to_state, site_id, at, data)
			SELECT %d + g %% %d, (ARRAY['register','diagnose','erase','recycle'])[1 + g %% 4], '',
			       (ARRAY['received','diagnosed','erased','recycled'])[1 + g %% 4], %d, now() - (g %% 365) * interval '1 day', '{}'
			FROM generate_series(1, %d) g`, firstDevice, scanDevices, warehouse, reportRows),
		`ANALYZE`,
	}
	for _, s := range seed {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return Result{}, fmt.Errorf("seed a year: %w", err)
		}
	}
	// Written behind the service's back, as after a restore: the figures
	// are rebuilt by the command made for it, timed.
	start := time.Now()
	if err := e.run(ctx, "reports", "rebuild"); err != nil {
		return Result{}, err
	}
	e.rebuild = time.Since(start)
	e.yearSeeded = true
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE figures`); err != nil { // as autovacuum would after the load
		return Result{}, err
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return Result{}, err
	}
	from := time.Now().AddDate(-1, 0, 1).Format(time.DateOnly)
	to := time.Now().Format(time.DateOnly)
	return summaryAgainstYear(ctx, e, db, "?from="+from+"&to="+to, func(fastest time.Duration) string {
		return fmt.Sprintf("median of 5, one year over %d events and %d sales (fastest %.3f s); the figures rebuilt from that history in %.1f s",
			reportRows, reportRows, fastest.Seconds(), e.rebuild.Seconds())
	})
}

// summaryAgainstYear times the summary report over the query's period
// beside its reference: one bare statement reading the year's sales, what
// any report computed from the history pays at least.
func summaryAgainstYear(ctx context.Context, e *env, db *sql.DB, query string, note func(fastest time.Duration) string) (Result, error) {
	median, fastest, err := timeGet(ctx, e.baseURL+"/api/v1/reports/summary"+query, "Bearer "+e.token, nil)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT beneficiary_id) + SUM(total_cents) FROM sales WHERE created_at >= now() - interval '1 year'`).Scan(&n); err != nil {
		return Result{}, err
	}
	ref := time.Since(start)
	return Result{Value: f64(median.Seconds()), Unit: "s", Reference: "one statement over the year's sales", ReferenceValue: f64(ref.Seconds()),
		Note: note(fastest)}, nil
}

// dashboard times the admin's dashboard page over the year report_summary
// seeded (it seeds it first when run alone).
func dashboard(ctx context.Context, e *env) (Result, error) {
	if !e.yearSeeded {
		if _, err := reportSummary(ctx, e); err != nil {
			return Result{}, err
		}
	}
	cookie, err := pageLogin(e.baseURL)
	if err != nil {
		return Result{}, err
	}
	from := time.Now().AddDate(-1, 0, 1).Format(time.DateOnly)
	median, fastest, err := timeGet(ctx, e.baseURL+"/admin?from="+from, "", cookie)
	if err != nil {
		return Result{}, err
	}
	return Result{Value: f64(median.Seconds()), Unit: "s", Note: fmt.Sprintf("median of 5, the network over a year of %d events and %d sales, 53 weeks (fastest %.3f s)",
		reportRows, reportRows, fastest.Seconds())}, nil
}

// timeGet gets url five times and returns the median and fastest times.
func timeGet(ctx context.Context, url, authorization string, cookie *http.Cookie) (time.Duration, time.Duration, error) {
	var times []time.Duration
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], times[0], nil
}

// pageLogin signs the bench's admin in through the login form and returns
// the session cookie.
func pageLogin(base string) (*http.Cookie, error) {
	return loginCookie(base, "bench@tremplin.local", benchPassword)
}

// loginCookie signs an account in through the login form and returns the
// session cookie.
func loginCookie(base, email, password string) (*http.Cookie, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(base+"/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("page login: status %d, no session cookie", resp.StatusCode)
}

const (
	nationalSales  = 10_000_000
	nationalPeople = 1_000_000
	nationalSites  = 100
)

// reportSummary10y seeds ten years of a national network (100 spaces, a
// million people with a voucher each, ten million sales with their lines,
// each to a person drawn at random, so that the days people were last
// served before spread as they would,
// the same number of device events), rebuilds the figures, and times the
// last year's summary: what a report costs must not grow with the years.
// A full run only: the seed alone takes minutes.
func reportSummary10y(ctx context.Context, e *env) (Result, error) {
	if e.quick {
		return Result{Note: "full runs only (the ten-year seed takes minutes): go run . report_summary_10y"}, nil
	}
	db, ids, err := e.withStock(ctx, [2]string{"prescriber", "CCAS national"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	presc := ids[0]
	var firstDevice, warehouse, firstSite int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM devices`).Scan(&firstDevice); err != nil {
		return Result{}, err
	}
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM organizations WHERE kind = 'warehouse'`).Scan(&warehouse); err != nil {
		return Result{}, err
	}
	if err := db.QueryRowContext(ctx, `INSERT INTO organizations (kind, name, timezone, active, created_at, updated_at)
		SELECT 'space', 'Espace national ' || g, 'Europe/Paris', true, now(), now() FROM generate_series(1, $1) g RETURNING id`, nationalSites).Scan(&firstSite); err != nil {
		return Result{}, err
	}
	seed := []string{
		fmt.Sprintf(`INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, postal_code, created_at, last_activity_at)
			SELECT %d, 'P', 'N' || g, 'p|n' || g, lpad((1000 + g %% 95000)::text, 5, '0'), now(), now() FROM generate_series(1, %d) g`, presc, nationalPeople),
		fmt.Sprintf(`INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
			valid_until, expires_at, status, created_at)
			SELECT 'NAT' || lpad(b.id::text, 12, '0'), b.id, %d, '["smartphone"]', 100, 100, '2099-01-01', now(), 'active', now() - interval '10 years'
			FROM beneficiaries b WHERE b.organization_id = %d`, presc, presc),
		fmt.Sprintf(`INSERT INTO sales (site_id, voucher_id, beneficiary_id, payment_method, total_cents, local_date, created_at)
			SELECT %d + g %% %d, v.id, v.beneficiary_id, (ARRAY['cash','card','free'])[1 + g %% 3], 3000, to_char(ts, 'YYYY-MM-DD'), ts
			FROM (SELECT g, now() - (g %% 3650) * interval '1 day' - (g %% 86400) * interval '1 second' AS ts,
			             (SELECT MIN(id) FROM vouchers WHERE organization_id = %d) + floor(random() * %d)::bigint AS vid
			      FROM generate_series(1, %d) g) x JOIN vouchers v ON v.id = x.vid`,
			firstSite, nationalSites, presc, nationalPeople, nationalSales),
		fmt.Sprintf(`INSERT INTO sale_lines (sale_id, kind, device_id, product_id, description, price_cents, face_value_cents)
			SELECT s.id, 'device', %d + s.id %% %d, NULL, 'x', 3000, NULL FROM sales s JOIN organizations o ON o.id = s.site_id WHERE o.name LIKE 'Espace national %%'`,
			firstDevice, scanDevices),
		fmt.Sprintf(`INSERT INTO device_events (device_id, action, from_state, to_state, site_id, at, data)
			SELECT %d + g %% %d, (ARRAY['register','diagnose','erase','mark_ready'])[1 + g %% 4], '',
			       (ARRAY['received','diagnosed','erased','ready'])[1 + g %% 4], %d, now() - (g %% 3650) * interval '1 day', '{}'
			FROM generate_series(1, %d) g`, firstDevice, scanDevices, warehouse, nationalSales),
		`ANALYZE`,
	}
	seedStart := time.Now()
	// One connection, its foreign-key triggers off: the seed writes
	// consistent rows, and 30 million per-row checks would take most of
	// an hour.
	conn, err := db.Conn(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = replica`); err != nil {
		return Result{}, err
	}
	// The tables' secondary indexes are made again after the load, sorted,
	// rather than grown row by row in random order.
	defs, err := conn.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE tablename IN ('sales', 'sale_lines', 'device_events') AND indexname NOT LIKE '%_pkey'`)
	if err != nil {
		return Result{}, err
	}
	var indexes [][2]string
	for defs.Next() {
		var name, def string
		if err := defs.Scan(&name, &def); err != nil {
			defs.Close()
			return Result{}, err
		}
		indexes = append(indexes, [2]string{name, def})
	}
	defs.Close()
	for _, ix := range indexes {
		if _, err := conn.ExecContext(ctx, `DROP INDEX `+ix[0]); err != nil {
			return Result{}, err
		}
	}
	for _, s := range seed {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return Result{}, fmt.Errorf("seed ten years: %w", err)
		}
	}
	for _, ix := range indexes {
		if _, err := conn.ExecContext(ctx, ix[1]); err != nil {
			return Result{}, fmt.Errorf("index again: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, `SET session_replication_role = DEFAULT`); err != nil {
		return Result{}, err
	}
	seeded := time.Since(seedStart)
	start := time.Now()
	if err := e.run(ctx, "reports", "rebuild"); err != nil {
		return Result{}, err
	}
	rebuilt := time.Since(start)
	// What autovacuum does after such a load: the statistics, and the
	// visibility map that lets the figures be read from their index alone.
	if _, err := db.ExecContext(ctx, `VACUUM ANALYZE figures`); err != nil {
		return Result{}, err
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return Result{}, err
	}
	var rows int64
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM figures`).Scan(&rows)
	from := time.Now().AddDate(-1, 0, 1).Format(time.DateOnly)
	return summaryAgainstYear(ctx, e, db, "?from="+from, func(fastest time.Duration) string {
		return fmt.Sprintf("median of 5, the last year of ten (%d sales, %d people, %d spaces; %d figure rows; fastest %.3f s); seeded in %.0f s, figures rebuilt in %.0f s",
			nationalSales, nationalPeople, nationalSites, rows, fastest.Seconds(), seeded.Seconds(), rebuilt.Seconds())
	})
}
