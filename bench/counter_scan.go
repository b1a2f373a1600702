package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tremplin/tremplin/distribution"
)

const (
	counters        = 32
	counterDevices  = 2_000 // per space, priced and in stock
	counterPassword = "caisse du banc d'essai"
)

var saleKeyRE = regexp.MustCompile(`name="key" value="([^"]+)"`)

// counterScan has 32 counters at 32 spaces, each with its voucher
// scanned, scan devices into their baskets through the page (POST /caisse,
// two devices then a new basket), and times each scan. The reference is the
// scan API's p99 at the same concurrency in the same run: a counter's scan
// checks the basket by the sale's rules, and should cost about a lookup,
// not a sale rolled back.
func counterScan(ctx context.Context, e *env) (Result, error) {
	if err := e.seedDevices(ctx, scanDevices); err != nil {
		return Result{}, err
	}
	db, err := openBenchDB(e)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	prescriber, err := insertOrg(ctx, db, "prescriber", "CCAS du comptoir")
	if err != nil {
		return Result{}, err
	}
	var don int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM donations`).Scan(&don); err != nil {
		return Result{}, err
	}
	type counter struct {
		space int64
		code  string
		tags  []string
	}
	cs := make([]counter, counters)
	for i := range cs {
		if cs[i].space, err = insertOrg(ctx, db, "space", fmt.Sprintf("Espace comptoir %02d", i)); err != nil {
			return Result{}, err
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
			SELECT 'CPT-' || $1::text || '-' || lpad(g::text, 5, '0'), $2, 'smartphone', 'Samsung', 'A52', '{}', 'B', 3000, 'in_stock', $3, now(), now()
			FROM generate_series(1, $4::int) g`, fmt.Sprintf("%02d", i), don, cs[i].space, counterDevices); err != nil {
			return Result{}, fmt.Errorf("seed the counters' devices: %w", err)
		}
		for g := 1; g <= counterDevices; g++ {
			cs[i].tags = append(cs[i].tags, fmt.Sprintf("CPT-%02d-%05d", i, g))
		}
		ben, err := insertBeneficiary(ctx, db, prescriber)
		if err != nil {
			return Result{}, err
		}
		if cs[i].code, err = distribution.NewCode(); err != nil {
			return Result{}, err
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
			valid_until, expires_at, status, created_at) VALUES ($1, $2, $3, '["smartphone"]', 2, 0, '2099-01-01', now() + interval '1 year', 'active', now())`,
			cs[i].code, ben, prescriber); err != nil {
			return Result{}, fmt.Errorf("seed vouchers: %w", err)
		}
		if err := e.api(ctx, "POST", "/api/v1/users", map[string]any{"email": fmt.Sprintf("caisse%02d@banc.tremplin.local", i), "name": "Caisse",
			"password": counterPassword, "role": "space", "organization_id": cs[i].space}, nil); err != nil {
			return Result{}, fmt.Errorf("counter account: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		return Result{}, err
	}

	d := 20 * time.Second
	if e.quick {
		d = 8 * time.Second
	}
	var mu sync.Mutex
	var lat []time.Duration
	failures := map[string]int{}
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range cs {
		wg.Go(func() {
			c := cs[i]
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			fail := func(what string) { mu.Lock(); failures[what]++; mu.Unlock() }
			if _, err := client.PostForm(e.baseURL+"/login", url.Values{"email": {fmt.Sprintf("caisse%02d@banc.tremplin.local", i)}, "password": {counterPassword}}); err != nil {
				fail("login")
				return
			}
			for n := 0; time.Now().Before(deadline); {
				// A voucher scanned: a new basket and its key.
				body, status, err := post(client, e.baseURL+"/caisse", url.Values{"code": {c.code}})
				m := saleKeyRE.FindStringSubmatch(body)
				if err != nil || status != 200 || m == nil {
					fail(fmt.Sprintf("voucher %d", status))
					return
				}
				basket := url.Values{"voucher": {c.code}, "key": {m[1]}}
				for range 2 {
					tag := c.tags[n%len(c.tags)]
					n++
					form := url.Values{}
					for k, v := range basket {
						form[k] = slices.Clone(v)
					}
					form.Set("code", tag)
					start := time.Now()
					body, status, err := post(client, e.baseURL+"/caisse", form)
					took := time.Since(start)
					if err != nil || status != 200 || !strings.Contains(body, tag) {
						fail(fmt.Sprintf("scan %d", status))
						continue
					}
					mu.Lock()
					lat = append(lat, took)
					mu.Unlock()
					basket.Add("device", tag)
				}
			}
		})
	}
	wg.Wait()
	if len(lat) == 0 {
		return Result{}, fmt.Errorf("no scan went through: %v", failures)
	}
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	// The reference: the scan API at the same concurrency, now.
	hdr := http.Header{"Authorization": {"Bearer " + e.token}}
	lookup := attackWith(e.baseURL+"/api/v1/scan/", hdr, 5*time.Second, counters)
	return Result{
		Value: f64(ms(p99)), Unit: "ms p99", Reference: "scan API p99, same concurrency", ReferenceValue: f64(ms(lookup.Latencies.P99)),
		Note: fmt.Sprintf("%d scans by %d counters at %d spaces (median %.1f ms, %.0f scans/s), failures %v", len(lat), counters, counters,
			ms(lat[len(lat)/2]), float64(len(lat))/d.Seconds(), failures),
	}, nil
}

// post sends a form and reads the page.
func post(c *http.Client, u string, form url.Values) (string, int, error) {
	resp, err := c.PostForm(u, form)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}
