package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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

const (
	saleStock    = 30_000
	saleCounters = 32 // one per space
)

// sale loads POST /api/v1/sales at 32 connections, 32 counters at 32 spaces
// (a fresh voucher and key each time, one device from a large stock) on a
// server of its own, whose
// connections to PostgreSQL go through a recorder. The reference is the
// statements the server sent meanwhile, replayed on a copy of the database
// as it was before the first sale, at 32 connections, without the service:
// the ratio is the service's cost over its own SQL. pgbench's minimal
// sale-shaped transaction (UPDATE a device, INSERT a sale) is in the note.
func sale(ctx context.Context, e *env) (Result, error) {
	dsn, drop, err := e.sideDatabase(ctx, "sale")
	if err != nil {
		return Result{}, err
	}
	defer drop()
	inst, err := e.prepare(ctx, dsn, "sale")
	if err != nil {
		return Result{}, err
	}
	defer inst.stop()
	spaces, firstDevice, codes, err := seedSale(ctx, dsn)
	if err != nil {
		return Result{}, err
	}
	// The replay's database: this one before any sale.
	replayDSN, dropReplay, err := e.copyDatabase(ctx, dsn, "sale_replay")
	if err != nil {
		return Result{}, err
	}
	defer dropReplay()
	u, _ := url.Parse(dsn)
	rec, err := newRecorder(u.Host)
	if err != nil {
		return Result{}, err
	}
	defer rec.close()
	via := *u
	via.Host = rec.addr()
	if err := inst.serve(via.String()); err != nil {
		return Result{}, err
	}

	d := 20 * time.Second
	if e.quick {
		d = 8 * time.Second
	}
	var next atomic.Int64
	hdr := http.Header{"Authorization": {"Bearer " + inst.token}, "Content-Type": {"application/json"}}
	targeter := func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= saleStock {
			return vegeta.ErrNoTargets
		}
		body, _ := json.Marshal(map[string]any{"site_id": spaces[i%int64(len(spaces))], "voucher_code": codes[i], "payment_method": "cash",
			"items": []any{map[string]any{"device_id": firstDevice + i}}})
		h := hdr.Clone()
		h.Set("Idempotency-Key", "bench-"+strconv.FormatInt(i, 10))
		t.Method, t.URL, t.Body, t.Header = "POST", inst.base+"/api/v1/sales", body, h
		return nil
	}
	a := vegeta.NewAttacker(vegeta.Connections(32), vegeta.Workers(32), vegeta.MaxWorkers(32), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second))
	var m vegeta.Metrics
	rec.recording.Store(true)
	for res := range a.Attack(targeter, vegeta.Rate{Freq: 0}, d, "sale") {
		m.Add(res)
	}
	rec.recording.Store(false)
	m.Close()
	inst.stop() // the machine's cores to the replay alone

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	created := m.StatusCodes["201"]
	var sold, lines, distinct int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM devices WHERE state = 'sold'`).Scan(&sold); err != nil {
		return Result{}, err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT device_id) FROM sale_lines`).Scan(&lines, &distinct); err != nil {
		return Result{}, err
	}
	oversold := lines - distinct
	if int64(created) != sold || lines != sold {
		oversold += abs(int64(created) - sold)
	}

	units := rec.recorded()
	rr, err := replay(ctx, replayDSN, units, 32)
	if err != nil {
		return Result{}, err
	}
	if rr.sales != created {
		return Result{}, fmt.Errorf("the replay made %d sales of the %d recorded (%d of %d units failed, first: %v)", rr.sales, created, rr.failed, rr.units, rr.firstError)
	}
	tps, err := pgbenchSale(ctx, e, d)
	if err != nil {
		return Result{}, err
	}
	statements := 0
	for _, u := range units {
		statements += len(u.stmts)
	}
	return Result{
		Value: f64(m.Throughput), Unit: "sales/s", Reference: "its own statements replayed, 32 connections", ReferenceValue: f64(float64(rr.sales) / rr.took.Seconds()),
		Note: fmt.Sprintf("p99 %.1f ms (replayed: %.1f ms), %d sold, %d answers other than 201 (%v), oversell %d; replayed %d units, %d statements (%.1f a sale) in %.1f s; pgbench UPDATE device + INSERT sale at 16 clients: %.0f sales/s",
			ms(m.Latencies.P99), ms(rr.p99), created, int(m.Requests)-created, m.StatusCodes, oversold, rr.units, statements,
			float64(statements)/float64(max(created, 1)), rr.took.Seconds(), tps),
	}, nil
}

// seedSale writes the sale's network: a warehouse and a donation, 32
// spaces (a counter each: a site's sales queue on its journal's chain,
// which a network's counters at different spaces do not share) with
// saleStock smartphones between them, device i at space i mod 32, and a
// prescriber with as many people, each with a voucher for one smartphone.
// It returns the spaces, the first device's id (the others follow), and
// the vouchers' codes in the people's order.
func seedSale(ctx context.Context, dsn string) ([]int64, int64, []string, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, 0, nil, err
	}
	defer db.Close()
	var ids [3]int64
	for i, o := range [][2]string{{"warehouse", "Entrepôt banc de vente"}, {"donor", "Donateur banc de vente"}, {"prescriber", "CCAS banc de vente"}} {
		if ids[i], err = insertOrg(ctx, db, o[0], o[1]); err != nil {
			return nil, 0, nil, err
		}
	}
	warehouse, donor, prescriber := ids[0], ids[1], ids[2]
	spaces := make([]int64, saleCounters)
	for i := range spaces {
		if spaces[i], err = insertOrg(ctx, db, "space", fmt.Sprintf("Espace de vente %02d", i)); err != nil {
			return nil, 0, nil, err
		}
		// Its sales journal, opened as Tremplin opens it with the space.
		if _, err := db.ExecContext(ctx, `INSERT INTO journal_heads (site_id, seq, hash) VALUES ($1, 0, $2)`, spaces[i], strings.Repeat("0", 64)); err != nil {
			return nil, 0, nil, fmt.Errorf("seed the journal: %w", err)
		}
	}
	var don int64
	if err := db.QueryRowContext(ctx, `INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES ($1, $2, '2026-01-01', now()) RETURNING id`,
		donor, warehouse).Scan(&don); err != nil {
		return nil, 0, nil, fmt.Errorf("seed donation: %w", err)
	}
	var firstDevice int64
	if err := db.QueryRowContext(ctx, `INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
		SELECT 'VEN-' || lpad(g::text, 6, '0'), $1, 'smartphone', 'Samsung', 'A52', '{}', 'B', 3000, 'in_stock', ($2::bigint[])[1 + (g - 1) % $4], now(), now()
		FROM generate_series(1, $3::int) g ORDER BY g RETURNING id`, don, spaces, saleStock, saleCounters).Scan(&firstDevice); err != nil {
		return nil, 0, nil, fmt.Errorf("seed devices: %w", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at)
		SELECT $1, 'P' || g, 'N', 'p|n', now(), now() FROM generate_series(1, $2::int) g`, prescriber, saleStock); err != nil {
		return nil, 0, nil, fmt.Errorf("seed beneficiaries: %w", err)
	}
	var firstBen int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM beneficiaries WHERE organization_id = $1`, prescriber).Scan(&firstBen); err != nil {
		return nil, 0, nil, err
	}
	codes := make([]string, saleStock)
	var b strings.Builder
	for i := range codes {
		if codes[i], err = distribution.NewCode(); err != nil {
			return nil, 0, nil, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "('%s', %d)", codes[i], firstBen+int64(i))
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
		valid_until, expires_at, status, created_at) SELECT v.code, v.ben, `+strconv.FormatInt(prescriber, 10)+`, '["smartphone"]', 1, 0, '2099-01-01',
		now() + interval '1 year', 'active', now() FROM (VALUES `+b.String()+`) AS v(code, ben)`); err != nil {
		return nil, 0, nil, fmt.Errorf("seed vouchers: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return nil, 0, nil, err
	}
	return spaces, firstDevice, codes, nil
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
