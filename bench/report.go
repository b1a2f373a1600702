package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
	from := time.Now().AddDate(-1, 0, 1).Format(time.DateOnly)
	to := time.Now().Format(time.DateOnly)
	var times []time.Duration
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.baseURL+"/api/v1/reports/summary?from="+from+"&to="+to, nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return Result{}, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return Result{}, fmt.Errorf("summary: status %d", resp.StatusCode)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	median := times[len(times)/2]
	return Result{Value: f64(median.Seconds()), Unit: "s", Note: fmt.Sprintf("median of 5, one year over %d events and %d sales (fastest %.2f s)", reportRows, reportRows, times[0].Seconds())}, nil
}
