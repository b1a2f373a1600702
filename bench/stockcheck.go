package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

const shelfDevices = 20_000

// stockCheck scans a space's whole shelf of 20,000 devices (19,800 tags,
// 100 serials, 100 codes nobody knows) in one POST
// /api/v1/sites/{id}/stock-checks, beside one bare SQL statement that
// resolves the same tags on the same database (pgx, tag = ANY($1)).
func stockCheck(ctx context.Context, e *env) (Result, error) {
	db, ids, err := e.withStock(ctx, [2]string{"space", "Espace inventaire"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	space := ids[0]
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`INSERT INTO devices (tag, donation_id, category, brand, model, serial, specs, grade, price_cents, state, site_id, created_at, updated_at)
		SELECT 'STK-' || lpad(g::text, 6, '0'), d.id, 'smartphone', 'Samsung', 'Galaxy A' || (10 + g %% 60), 'SNSTK' || g, '{}', 'B', 3500, 'in_stock',
		       $1, now(), now()
		FROM generate_series(1, %d) g, (SELECT MIN(id) AS id FROM donations) d`, shelfDevices), space); err != nil {
		return Result{}, fmt.Errorf("seed the shelf: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE devices`); err != nil {
		return Result{}, err
	}
	codes := make([]string, 0, shelfDevices)
	for i := 1; i <= shelfDevices-200; i++ {
		codes = append(codes, fmt.Sprintf("STK-%06d", i))
	}
	for i := shelfDevices - 199; i <= shelfDevices-100; i++ {
		codes = append(codes, fmt.Sprintf("SNSTK%d", i)) // scanned by serial
	}
	for i := range 100 {
		codes = append(codes, fmt.Sprintf("ZZZ-%06d", i)) // nobody's
	}
	body, _ := json.Marshal(map[string]any{"codes": codes})
	target := fmt.Sprintf("%s/api/v1/sites/%d/stock-checks", e.baseURL, space)
	check := func() (time.Duration, error) {
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "POST", target, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var out struct {
			Missing    []any `json:"missing"`
			Unexpected []any `json:"unexpected"`
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 201 || json.Unmarshal(b, &out) != nil || len(out.Missing) != 100 || len(out.Unexpected) != 100 {
			return 0, fmt.Errorf("stock check: status %d, %d missing, %d unexpected: %.200s", resp.StatusCode, len(out.Missing), len(out.Unexpected), b)
		}
		return time.Since(start), nil
	}
	runs := 5
	if e.quick {
		runs = 3
	}
	if _, err := check(); err != nil { // warm-up
		return Result{}, err
	}
	var took []time.Duration
	for range runs {
		d, err := check()
		if err != nil {
			return Result{}, err
		}
		took = append(took, d)
	}
	slices.Sort(took)
	tags := codes[:shelfDevices-200]
	var refs []time.Duration
	for range runs + 1 {
		start := time.Now()
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT id, tag, state, site_id FROM devices WHERE tag = ANY($1)) d`, tags).Scan(&n); err != nil {
			return Result{}, err
		}
		if n != len(tags) {
			return Result{}, fmt.Errorf("reference found %d of %d tags", n, len(tags))
		}
		refs = append(refs, time.Since(start))
	}
	slices.Sort(refs)
	median, ref := took[len(took)/2].Seconds(), refs[len(refs)/2].Seconds()
	return Result{Value: f64(median), Unit: "s", Reference: "one SQL statement resolving the tags (pgx)", ReferenceValue: f64(ref),
		Note: fmt.Sprintf("%d codes against a shelf of %d, median of %d checks", len(codes), shelfDevices, runs)}, nil
}
