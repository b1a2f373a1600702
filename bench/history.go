package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite"
)

// The history a network has after some years: what the pages opened every
// day must not read.
const (
	historySpaces    = 20
	historyProducts  = 5
	historyAvailable = 1_000_000
	historySold      = 5_000_000
	historyDevices   = 500_000
	historyDevSold   = 450_000
	historyPassword  = "historique du banc d'essai"
)

// historyPage is one page or API call a person opens every day, as whom.
type historyPage struct {
	path  string
	space bool // as a space's staff, else as the network's admin
	api   bool
	bare  bool // no credentials: the Prometheus scrape from this machine
}

// history opens the pages and API calls people open every day on a network
// with years behind it (1,000,000 cards on the shelves, 5,000,000 sold,
// 500,000 devices of which 450,000 sold), on PostgreSQL and on SQLite, each
// on its own fresh database served by its own `tremplin serve`. The value
// is the slowest page's median time; the note gives every page on both
// engines. The reference is the same server's /healthz, the floor of a
// request.
func history(ctx context.Context, e *env) (Result, error) {
	pgURL, dropPG, err := e.sideDatabase(ctx, "history")
	if err != nil {
		return Result{}, err
	}
	defer dropPG()
	engines := []struct{ name, url string }{
		{"PostgreSQL", pgURL},
		{"SQLite", filepath.Join(e.dir, "history.db")},
	}
	var worst, floor float64
	var notes []string
	for _, en := range engines {
		times, health, seeded, err := historyOn(ctx, e, en.url)
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", en.name, err)
		}
		var parts []string
		for _, t := range times {
			parts = append(parts, fmt.Sprintf("%s %.3f", t.page, t.seconds))
			if t.seconds > worst {
				worst = t.seconds
			}
		}
		floor = max(floor, health)
		notes = append(notes, fmt.Sprintf("%s (seeded in %.0f s): %s", en.name, seeded.Seconds(), strings.Join(parts, ", ")))
	}
	return Result{Value: f64(worst), Unit: "s", Reference: "/healthz", ReferenceValue: f64(floor), Note: strings.Join(notes, "; ")}, nil
}

type pageTime struct {
	page    string
	seconds float64
}

// historyOn seeds one engine's database, serves it, and times the pages.
func historyOn(ctx context.Context, e *env, dbURL string) ([]pageTime, float64, time.Duration, error) {
	inst, err := e.instance(ctx, dbURL, "history")
	if err != nil {
		return nil, 0, 0, err
	}
	defer inst.stop()
	start := time.Now()
	products, err := seedHistory(ctx, dbURL)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("seed: %w", err)
	}
	seeded := time.Since(start)
	fmt.Fprintf(os.Stderr, "bench: history: seeded in %.0f s\n", seeded.Seconds())

	space, err := inst.userClient(ctx, "espace@banc.tremplin.local", "space")
	if err != nil {
		return nil, 0, 0, err
	}
	admin, err := loginCookie(inst.base, "bench@tremplin.local", benchPassword)
	if err != nil {
		return nil, 0, 0, err
	}
	pages := []historyPage{
		{path: "/admin"}, {path: "/recharges"}, {path: fmt.Sprintf("/recharges/%d", products[0])}, {path: "/stock"},
		{path: "/appareils"}, {path: "/api/v1/recharge-stock", api: true}, {path: "/api/v1/accessory-stock", api: true}, {path: "/api/v1/availability", api: true}, {path: "/metrics", bare: true},
		{path: "/tableau-de-bord", space: true}, {path: "/caisse", space: true},
		{path: "/stock", space: true}, {path: "/ventes", space: true},
	}
	var out []pageTime
	for _, p := range pages {
		cookie, auth, who := admin, "", "admin"
		if p.space {
			cookie, who = space, "space"
		}
		if p.api {
			cookie, auth = nil, "Bearer "+inst.token
		}
		if p.bare {
			cookie, who = nil, "scraper"
		}
		median, _, err := timeGet(ctx, inst.base+p.path, auth, cookie)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%s as %s: %w", p.path, who, err)
		}
		out = append(out, pageTime{fmt.Sprintf("%s (%s)", p.path, who), median.Seconds()})
	}
	health, _, err := timeGet(ctx, inst.base+"/healthz", "", nil)
	if err != nil {
		return nil, 0, 0, err
	}
	return out, health.Seconds(), seeded, nil
}

// dialect is what differs between the engines in the seeding SQL.
type dialect struct {
	series func(n int) string // a WITH clause naming g(x), 1..n
	secs   func(expr string) string
}

var dialects = map[string]dialect{
	"pgx": {
		series: func(n int) string { return fmt.Sprintf("WITH g(x) AS (SELECT generate_series(1, %d))", n) },
		secs: func(expr string) string {
			return fmt.Sprintf("(timestamptz '2021-01-01 09:00:00+00' + (%s) * interval '1 second')", expr)
		},
	},
	"sqlite": {
		series: func(n int) string {
			return fmt.Sprintf("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < %d)", n)
		},
		secs: func(expr string) string {
			return fmt.Sprintf("datetime('2021-01-01 09:00:00', '+' || (%s) || ' seconds')", expr)
		},
	},
}

// seedHistory writes the network's years in SQL: 20 spaces and a
// warehouse, five products, the cards on the shelves and those sold over
// five years, the devices and those sold, and the figures the sales would
// have kept. It returns the products' ids.
func seedHistory(ctx context.Context, dbURL string) ([]int64, error) {
	driver, dsn := "pgx", dbURL
	if !strings.HasPrefix(dbURL, "postgres") {
		driver, dsn = "sqlite", dbURL+"?_pragma=busy_timeout(60000)&_pragma=synchronous(OFF)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	d := dialects[driver]
	now := "CURRENT_TIMESTAMP"
	var stmts []string
	stmts = append(stmts,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt historique', 'Europe/Paris', `+now+`, `+now+`)`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('donor', 'Donateur historique', 'Europe/Paris', `+now+`, `+now+`)`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('operator', 'Opérateur historique', 'Europe/Paris', `+now+`, `+now+`)`,
		d.series(historySpaces)+` INSERT INTO organizations (kind, name, timezone, created_at, updated_at)
			SELECT 'space', 'Espace ' || x, 'Europe/Paris', `+now+`, `+now+` FROM g`,
		d.series(historyProducts)+` INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
			SELECT o.id, 'Recharge ' || (x * 5) || ' €', x * 500, x * 100, 50, true, `+now+`, `+now+` FROM g, organizations o WHERE o.kind = 'operator'`,
		// One batch per product and site.
		`INSERT INTO recharge_batches (product_id, site_id, imported_at, file_sha256, units)
			SELECT p.id, o.id, `+now+`, 'historique-' || p.id || '-' || o.id, 0 FROM recharge_products p, organizations o WHERE o.kind IN ('space', 'warehouse')`,
		`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) SELECT d.id, w.id, '2021-01-01', `+now+`
			FROM organizations d, organizations w WHERE d.kind = 'donor' AND w.kind = 'warehouse'`,
	)
	// The cards: x spread over the products and the spaces by its rests.
	card := func(from, n int, status, expires, sold string) string {
		return d.series(n) + ` INSERT INTO recharge_units (product_id, operator_id, batch_id, site_id, serial, expires_on, status, sold_at, sold_site_id)
			SELECT b.product_id, p.operator_id, b.id, b.site_id, 'H' || (x + ` + fmt.Sprint(from) + `), ` + expires + `, '` + status + `', ` + sold + `, ` +
			soldSite(status) + `
			FROM g JOIN recharge_batches b ON b.id = 1 + (x % (SELECT COUNT(*) FROM recharge_batches)) JOIN recharge_products p ON p.id = b.product_id`
	}
	stmts = append(stmts,
		card(0, historyAvailable, "available", "'2031-12-31'", "NULL"),
		// Sold one every 30 seconds over five years (4,700 a day).
		card(historyAvailable, historySold, "sold", "'2026-12-31'", d.secs("x * 30")),
	)
	stmts = append(stmts,
		d.series(historyDevices)+` INSERT INTO devices (tag, donation_id, category, brand, model, serial, specs, grade, price_cents, state, site_id, created_at, updated_at)
			SELECT 'HIS-' || x, dn.id, CASE WHEN x % 3 = 0 THEN 'smartphone' ELSE 'laptop' END, 'Lenovo', 'ThinkPad T' || (400 + x % 100), 'HSN' || x, '{}', 'B', 9000,
			       CASE WHEN x <= `+fmt.Sprint(historyDevSold)+` THEN 'sold' WHEN x % 5 = 0 THEN 'ready' ELSE 'in_stock' END,
			       CASE WHEN x % 5 = 0 AND x > `+fmt.Sprint(historyDevSold)+` THEN dn.warehouse_id ELSE (SELECT MIN(id) FROM organizations WHERE kind = 'space') + x % `+fmt.Sprint(historySpaces)+` END,
			       `+d.secs("x * 300")+`, `+d.secs("x * 300")+`
			FROM g, donations dn`,
		// The figures the sales and steps would have kept: the devices
		// and the cards now, per site.
		`INSERT INTO figures (day, org_id, metric, label, n, cents)
			SELECT '', site_id, 'devices', state || '/' || category, COUNT(*), 0 FROM devices GROUP BY site_id, state, category`,
		`INSERT INTO figures (day, org_id, metric, label, n, cents)
			SELECT '', site_id, 'cards', status || '/' || product_id, COUNT(*), 0 FROM recharge_units GROUP BY site_id, status, product_id`,
		`ANALYZE`,
	)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return nil, fmt.Errorf("%.120s: %w", s, err)
		}
	}
	var ids []int64
	rows, err := db.QueryContext(ctx, `SELECT id FROM recharge_products ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func soldSite(status string) string {
	if status == "sold" {
		return "b.site_id"
	}
	return "NULL"
}

// userClient creates an account of a role at the first space and logs it in.
func (i *instance) userClient(ctx context.Context, email, role string) (*http.Cookie, error) {
	var orgs struct {
		Items []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"items"`
	}
	if err := apiCall(ctx, i.base, i.token, "GET", "/api/v1/organizations?kind=space&limit=1", nil, &orgs); err != nil {
		return nil, err
	}
	if len(orgs.Items) == 0 {
		return nil, fmt.Errorf("no space")
	}
	if err := apiCall(ctx, i.base, i.token, "POST", "/api/v1/users", map[string]any{"email": email, "name": "Espace",
		"password": historyPassword, "role": role, "organization_id": orgs.Items[0].ID}, nil); err != nil {
		return nil, err
	}
	return loginCookie(i.base, email, historyPassword)
}
