package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tremplin/tremplin/distribution"
)

const saleStock = 30_000

// sale loads POST /api/v1/sales at 32 connections (a fresh voucher and key
// each time, one device from a large stock), beside pgbench running a
// sale-shaped transaction (UPDATE a device, INSERT a sale) at 16 clients.
func sale(ctx context.Context, e *env) (Result, error) {
	db, ids, err := e.withStock(ctx, [2]string{"space", "Espace banc d'essai"}, [2]string{"prescriber", "CCAS banc de vente"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	space, prescriber := ids[0], ids[1]
	var don int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM donations`).Scan(&don); err != nil {
		return Result{}, fmt.Errorf("sale needs the seeded donation: %w", err)
	}
	var firstDevice int64
	if err := db.QueryRowContext(ctx, `INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
		SELECT 'VEN-' || lpad(g::text, 6, '0'), $1, 'smartphone', 'Samsung', 'A52', '{}', 'B', 3000, 'in_stock', $2, now(), now()
		FROM generate_series(1, $3::int) g RETURNING id`, don, space, saleStock).Scan(&firstDevice); err != nil {
		return Result{}, fmt.Errorf("seed devices: %w", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at)
		SELECT $1, 'P' || g, 'N', 'p|n', now(), now() FROM generate_series(1, $2::int) g`, prescriber, saleStock); err != nil {
		return Result{}, fmt.Errorf("seed beneficiaries: %w", err)
	}
	var firstBen int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM beneficiaries WHERE organization_id = $1`, prescriber).Scan(&firstBen); err != nil {
		return Result{}, err
	}
	codes := make([]string, saleStock)
	var b strings.Builder
	for i := range codes {
		if codes[i], err = distribution.NewCode(); err != nil {
			return Result{}, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "('%s', %d)", codes[i], firstBen+int64(i))
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
		valid_until, expires_at, status, created_at) SELECT v.code, v.ben, `+strconv.FormatInt(prescriber, 10)+`, '["smartphone"]', 1, 0, '2099-01-01',
		now() + interval '1 year', 'active', now() FROM (VALUES `+b.String()+`) AS v(code, ben)`); err != nil {
		return Result{}, fmt.Errorf("seed vouchers: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return Result{}, err
	}

	d := 20 * time.Second
	if e.quick {
		d = 8 * time.Second
	}
	var next atomic.Int64
	hdr := http.Header{"Authorization": {"Bearer " + e.token}, "Content-Type": {"application/json"}}
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= saleStock {
			return vegeta.ErrNoTargets
		}
		body, _ := json.Marshal(map[string]any{"site_id": space, "voucher_code": codes[i], "payment_method": "cash",
			"items": []any{map[string]any{"device_id": firstDevice + i}}})
		h := hdr.Clone()
		h.Set("Idempotency-Key", "bench-"+strconv.FormatInt(i, 10))
		t.Method, t.URL, t.Body, t.Header = "POST", e.baseURL+"/api/v1/sales", body, h
		return nil
	}
	a := vegeta.NewAttacker(vegeta.Connections(32), vegeta.Workers(32), vegeta.MaxWorkers(32), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	for res := range a.Attack(targeter, vegeta.Rate{Freq: 0}, d, "sale") {
		m.Add(res)
	}
	m.Close()
	created := m.StatusCodes["201"]
	var sold, lines, distinct int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE state = 'sold' AND site_id = $1`, space).Scan(&sold); err != nil {
		return Result{}, err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT device_id) FROM sale_lines`).Scan(&lines, &distinct); err != nil {
		return Result{}, err
	}
	oversold := lines - distinct
	if int64(created) != sold || lines != sold {
		oversold += abs(int64(created) - sold)
	}

	tps, err := pgbenchSale(ctx, e, d)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Value: f64(m.Throughput), Unit: "sales/s", Reference: "pgbench UPDATE device + INSERT sale, 16 clients", ReferenceValue: f64(tps),
		Note: fmt.Sprintf("p99 %.1f ms, %d sold, %d answers other than 201 (%v), oversell %d", ms(m.Latencies.P99), created,
			int(m.Requests)-created, m.StatusCodes, oversold),
	}, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchSale runs the reference transaction with pgbench on its own tables.
func pgbenchSale(ctx context.Context, e *env, d time.Duration) (float64, error) {
	db, err := openBenchDB(e)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	for _, s := range []string{
		`CREATE TABLE pgb_devices (id BIGINT PRIMARY KEY, state TEXT NOT NULL, site_id BIGINT NOT NULL)`,
		`INSERT INTO pgb_devices SELECT g, 'in_stock', 1 FROM generate_series(1, 100000) g`,
		`CREATE TABLE pgb_sales (id BIGSERIAL PRIMARY KEY, device_id BIGINT NOT NULL, total_cents BIGINT NOT NULL, created_at TIMESTAMPTZ NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return 0, fmt.Errorf("pgbench tables: %w", err)
		}
	}
	script := filepath.Join(e.dir, "sale.sql")
	if err := os.WriteFile(script, []byte(`\set d random(1, 100000)
BEGIN;
UPDATE pgb_devices SET state = 'sold' WHERE id = :d;
INSERT INTO pgb_sales (device_id, total_cents, created_at) VALUES (:d, 3000, now());
END;
`), 0o600); err != nil {
		return 0, err
	}
	u := e.dbURL
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-c", "16", "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-f", script, u)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench said: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
