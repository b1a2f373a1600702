package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

// seedCounter gives a fresh, migrated database a space (id 1) with n devices
// in stock (ids 1..n, with their history) and n one-device vouchers, and
// returns the voucher codes.
func seedCounter(t *testing.T, dbURL, dataDir string, n int) []string {
	t.Helper()
	db := testenv.Open(t, dbURL, dataDir)
	now := database.Now()
	for _, o := range []string{"space", "prescriber", "donor", "warehouse"} {
		if err := db.Exec(`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES (?, ?, 'Europe/Paris', ?, ?)`, o, o, now, now).Error; err != nil {
			t.Fatal(err)
		}
	}
	db.Exec(`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES (3, 4, '2026-01-01', ?)`, now)
	codes := make([]string, n)
	for i := range n {
		codes[i], _ = distribution.NewCode()
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
				VALUES (?, 1, 'smartphone', 'Samsung', 'A52', '{}', 'B', 3000, 'in_stock', 1, ?, ?)`, []any{fmt.Sprintf("TEL-%05d", i+1), now, now}},
			{`INSERT INTO device_events (device_id, action, from_state, to_state, at, data) VALUES (?, 'receive', 'in_transit', 'in_stock', ?, '{}')`, []any{i + 1, now}},
			{`INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at) VALUES (2, 'P', 'N', 'p|n', ?, ?)`, []any{now, now}},
			{`INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed, valid_until, expires_at, status, created_at)
				VALUES (?, ?, 2, '["smartphone"]', 1, 0, '2099-01-01', ?, 'active', ?)`, []any{codes[i], i + 1, now.AddDate(1, 0, 0), now}},
		}
		for _, s := range stmts {
			if err := db.Exec(s.q, s.args...).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	// Written behind the service's back: the report figures are recounted,
	// as `tremplin reports rebuild` does after such a load.
	if _, err := figures.Rebuild(context.Background(), db.DB); err != nil {
		t.Fatal(err)
	}
	return codes
}

func postSale(base, token string, i int, code string, device int) (int, int64, error) {
	body, _ := json.Marshal(map[string]any{"site_id": 1, "voucher_code": code, "payment_method": "cash",
		"items": []any{map[string]any{"device_id": device}}})
	req, _ := http.NewRequest("POST", base+"/api/v1/sales", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%d", i))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var s struct {
		ID int64 `json:"id"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return resp.StatusCode, s.ID, nil
}

// TestKillNineMidLoad kills `tremplin serve` with SIGKILL while sales are
// under way, restarts it, and finds every sale that was answered 201, and a
// database whose invariants hold.
func TestKillNineMidLoad(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_LOG_LEVEL"] = "error"
	for _, args := range [][]string{{"migrate", "up"}, {"admin", "create", "--email", "caisse@example.org", "--password", "0123456789"}} {
		runBinary(t, env, "", args...)
	}
	const n = 80
	codes := seedCounter(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"], n)
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = environ(env)
	base := startCmd(t, cmd)
	token := login(t, base, "caisse@example.org", "0123456789")

	var mu sync.Mutex
	var confirmed []int64
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	killed := make(chan struct{})
	var once sync.Once
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				status, id, err := postSale(base, token, i, codes[i], i+1)
				if err != nil {
					return // the server is gone
				}
				if status == 201 {
					mu.Lock()
					confirmed = append(confirmed, id)
					if len(confirmed) == 20 {
						once.Do(func() { _ = cmd.Process.Kill(); close(killed) })
					}
					mu.Unlock()
				}
			}
		}()
	}
	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatal("20 sales did not happen within 60 s")
	}
	wg.Wait()
	_ = cmd.Wait()

	cmd2 := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	cmd2.Env = environ(env)
	base2 := startCmd(t, cmd2)
	token2 := login(t, base2, "caisse@example.org", "0123456789")
	for _, id := range confirmed {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/sales/%d", base2, id), nil)
		req.Header.Set("Authorization", "Bearer "+token2)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("sale %d was answered 201 and is gone after the crash (%d)", id, resp.StatusCode)
		}
	}
	runBinary(t, env, "All invariants hold", "check")
	t.Logf("%d sales confirmed before SIGKILL, all found after restart", len(confirmed))
}
