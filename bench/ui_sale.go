package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/distribution"
)

// uiSaleSlow3G is one sale made in Chromium at the counter over an
// emulated slow line (400 ms round trip, 400 kbit/s each way): from opening
// the counter to the receipt. Its reference is the same line's cost of the
// bare requests the sale needs through the API (login, sale, receipt).
func uiSaleSlow3G(ctx context.Context, e *env) (Result, error) {
	db, ids, err := e.withStock(ctx, [2]string{"space", "Espace lent"}, [2]string{"prescriber", "CCAS lent"}, [2]string{"operator", "Opérateur lent"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	space, prescriber, operator := ids[0], ids[1], ids[2]
	var don int64
	if err := db.QueryRowContext(ctx, `SELECT MIN(id) FROM donations`).Scan(&don); err != nil {
		return Result{}, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
		VALUES ('LENT-000001', $1, 'smartphone', 'Fairphone', '4', '{}', 'B', 3000, 'in_stock', $2, now(), now())`, don, space); err != nil {
		return Result{}, fmt.Errorf("seed device: %w", err)
	}
	ben, err := insertBeneficiary(ctx, db, prescriber)
	if err != nil {
		return Result{}, err
	}
	code, err := distribution.NewCode()
	if err != nil {
		return Result{}, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
		valid_until, expires_at, status, created_at) VALUES ($1, $2, $3, '["smartphone"]', 1, 1, '2099-01-01', now() + interval '1 year', 'active', now())`,
		code, ben, prescriber); err != nil {
		return Result{}, fmt.Errorf("seed voucher: %w", err)
	}
	// A seller, a product and its cards, through the API (passwords are
	// hashed and PINs sealed by the server).
	email := "vendeuse-lente@bench.example"
	if err := e.api(ctx, "POST", "/api/v1/users", map[string]any{"email": email, "name": "Vendeuse", "password": benchPassword,
		"role": "space", "organization_id": space}, nil); err != nil {
		return Result{}, err
	}
	var product struct{ ID int64 }
	if err := e.api(ctx, "POST", "/api/v1/recharge-products", map[string]any{"operator_id": operator, "name": "Recharge 10 €",
		"face_value_cents": 1000, "price_cents": 200}, &product); err != nil {
		return Result{}, err
	}
	var csv strings.Builder
	csv.WriteString("serial,pin,expires_on\n")
	for i := range 5 {
		fmt.Fprintf(&csv, "LENT%06d,%014d,2099-12-31\n", i, 31415926535000+i)
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/api/v1/recharge-batches?product_id=%d&site_id=%d", e.baseURL, product.ID, space),
		strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Result{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return Result{}, fmt.Errorf("import cards: %d", resp.StatusCode)
	}

	chromium, err := exec.LookPath("chromium")
	if err != nil {
		return Result{}, fmt.Errorf("ui_sale_slow3g needs Chromium (apt-get install chromium): %w", err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.UserDataDir(e.dir+"/chromium"), chromedp.Flag("lang", "fr-FR"),
		chromedp.Flag("accept-lang", "fr-FR,fr"))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		return Result{}, fmt.Errorf("start Chromium: %w", err)
	}
	run, cancelRun := context.WithTimeout(bctx, 3*time.Minute)
	defer cancelRun()

	// Log in first, on a fast line: the measure starts at the counter.
	if err := chromedp.Do(run, chromedp.Navigate(e.baseURL+"/login"), chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", benchPassword), chromedp.Submit("#login-form"),
		chromedp.WaitVisible("#till")); err != nil {
		return Result{}, fmt.Errorf("log in: %w", err)
	}
	var mu sync.Mutex
	var requests, documents int
	var bytesIn float64
	if err := chromedp.Listen(run, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests++
			if ev.Type == network.ResourceTypeDocument {
				documents++
			}
		case *network.EventLoadingFinished:
			bytesIn += ev.EncodedDataLength
		}
	}); err != nil {
		return Result{}, err
	}
	slow := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: 400, DownloadThroughput: 400_000 / 8, UploadThroughput: 400_000 / 8}}})
		return err
	})
	if err := chromedp.Do(run, slow, chromedp.Navigate("about:blank")); err != nil {
		return Result{}, fmt.Errorf("slow line: %w", err)
	}
	start := time.Now()
	var afterOpen int
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(e.baseURL + "/caisse"), chromedp.WaitVisible("#till"),
		chromedp.Func(func(context.Context, *chromedp.Target) error {
			mu.Lock()
			afterOpen = documents
			mu.Unlock()
			return nil
		}),
		chromedp.SendKeys("#code", code+"\r"), chromedp.WaitVisible("#voucher"),
		chromedp.SendKeys("#code", "LENT-000001\r"), chromedp.WaitVisible("#till-added"),
		chromedp.Click(`#products button`), chromedp.WaitVisible("#total"),
		chromedp.Click("#pay-cash"), chromedp.WaitVisible("#sale-done"),
	}
	if err := chromedp.Do(run, steps...); err != nil {
		return Result{}, fmt.Errorf("the sale in Chromium: %w", err)
	}
	// The receipt, as the page opens it (a new tab: fetched here).
	receiptURL, err := chromedp.Run(run, chromedp.Evaluate[string](`document.querySelector("#receipt").href`))
	if err != nil {
		return Result{}, err
	}
	if _, err := chromedp.Run(run, chromedp.Evaluate[int](`fetch(`+strconv.Quote(receiptURL)+`).then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil {
		return Result{}, fmt.Errorf("receipt: %w", err)
	}
	elapsed := time.Since(start).Seconds()
	mu.Lock()
	roundTrips := documents - afterOpen + 1 // every page after the counter's, and the receipt
	total, kb := requests, bytesIn/1024
	mu.Unlock()

	var sold int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sales WHERE site_id = $1`, space).Scan(&sold); err != nil || sold != 1 {
		return Result{}, fmt.Errorf("%d sales recorded (%v)", sold, err)
	}
	// Reference, measured on the same line in the same tab: six bare round
	// trips (the floor of any six-step flow on it).
	refMS, err := chromedp.Run(run, chromedp.Evaluate[float64](`(async () => {
  const t = performance.now();
  for (let i = 0; i < 6; i++) { await fetch("/healthz", {cache: "no-store"}); }
  return performance.now() - t;
})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		return Result{}, fmt.Errorf("reference round trips: %w", err)
	}
	return Result{
		Value: f64(elapsed), Unit: "s", Reference: "6 bare round trips (/healthz) on the same emulated line", ReferenceValue: f64(refMS / 1000),
		Note: fmt.Sprintf("%d requests, %.0f KB received, %d round trips from the voucher scan to the receipt (goal ≤ 6)", total, kb, roundTrips),
	}, nil
}

// api sends a JSON request as the bench's admin and decodes the answer.
func (e *env) api(ctx context.Context, method, path string, body, out any) error {
	return apiCall(ctx, e.baseURL, e.token, method, path, body, out)
}

// apiCall calls the API of the server at base with a token.
func apiCall(ctx context.Context, base, token, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
