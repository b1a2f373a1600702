package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

// startBinary runs `tremplin serve` as a process and returns its URL.
func startBinary(t *testing.T, env map[string]string) string {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = environ(env)
	return startCmd(t, cmd)
}

// startCmd starts a prepared `tremplin serve` command and waits until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	var stderr testenv.LockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stdout)
			return m[1]
		}
	}
	t.Fatalf("serve never listened: %s", stderr.String())
	return ""
}

// migratedPostgres is a fresh PostgreSQL database migrated by the binary,
// with an admin (password 0123456789), and the environment that serves it.
func migratedPostgres(t *testing.T, admin string) (map[string]string, *database.DB) {
	t.Helper()
	url := testenv.FreshPostgres(t)
	env := testEnv(t)
	env["TREMPLIN_DATABASE_URL"] = url
	env["TREMPLIN_LOG_LEVEL"] = "error"
	for _, args := range [][]string{{"migrate", "up"}, {"admin", "create", "--email", admin, "--password", "0123456789"}} {
		runBinary(t, env, "", args...)
	}
	target, _ := database.Resolve(url, "")
	db, err := database.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return env, db
}

// twoServers starts two `tremplin serve` processes on env's database and
// signs the admin in on each: their addresses and tokens.
func twoServers(t *testing.T, env map[string]string, admin string) (servers, tokens []string) {
	t.Helper()
	servers = []string{startBinary(t, env), startBinary(t, env)}
	tokens = []string{login(t, servers[0], admin, "0123456789"), login(t, servers[1], admin, "0123456789")}
	return servers, tokens
}

// seed runs the statements, then gives each of n people of the prescriber
// (organisation 2) a voucher for one device of category: their codes.
func seed(t *testing.T, db *database.DB, statements []string, n int, category string) []string {
	t.Helper()
	for _, s := range statements {
		if err := db.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		return nil
	}
	now := database.Now()
	if err := db.Exec(`INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at)
		SELECT 2, 'P' || g, 'N', 'p|n', ?, ? FROM generate_series(1, ?) g`, now, now, n).Error; err != nil {
		t.Fatal(err)
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i], _ = distribution.NewCode()
		if err := db.Exec(`INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
			valid_until, expires_at, status, created_at) VALUES (?, ?, 2, ?, 1, 0, '2099-01-01', ?, 'active', ?)`,
			codes[i], i+1, `["`+category+`"]`, now.AddDate(1, 0, 0), now).Error; err != nil {
			t.Fatal(err)
		}
	}
	return codes
}

// race sends n requests at once, request i to servers[i%2] with that
// server's token, and counts the answers by status (-1: no answer).
func race(servers, tokens []string, n int, request func(i int) (method, path, body string, headers map[string]string)) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := range n {
		wg.Go(func() {
			method, path, body, headers := request(i)
			req, _ := http.NewRequest(method, servers[i%2]+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tokens[i%2])
			req.Header.Set("Content-Type", "application/json")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				statuses[-1]++
				return
			}
			resp.Body.Close()
			statuses[resp.StatusCode]++
		})
	}
	wg.Wait()
	return statuses
}

// TestTwoProcessesNeverOversell starts two `tremplin serve` processes on one
// PostgreSQL database and has 40 buyers, with 40 vouchers, race for 5
// devices through both: exactly 5 sales, each device once.
func TestTwoProcessesNeverOversell(t *testing.T) {
	env, db := migratedPostgres(t, "caisse@example.org")
	statements := []string{
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('space', 'Espace', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('prescriber', 'CCAS', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('donor', 'Donateur', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt', 'Europe/Paris', now(), now())`,
		`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES (3, 4, '2026-01-01', now())`,
		`INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
			SELECT 'TEL-' || g, 1, 'smartphone', 'Samsung', 'A52', '{}', 'B', 3000, 'in_stock', 1, now(), now() FROM generate_series(1, 5) g`,
		`INSERT INTO device_events (device_id, action, from_state, to_state, at, data) SELECT id, 'receive', 'in_transit', 'in_stock', now() - interval '1 hour', '{}' FROM devices`,
	}
	codes := seed(t, db, statements, 40, "smartphone")
	// Written behind the service's back: the figures are recounted by the
	// command made for that.
	runBinary(t, env, "Figures rebuilt from the history", "reports", "rebuild")
	servers, tokens := twoServers(t, env, "caisse@example.org")
	statuses := race(servers, tokens, 40, func(i int) (string, string, string, map[string]string) {
		body, _ := json.Marshal(map[string]any{"site_id": 1, "voucher_code": codes[i], "payment_method": "cash",
			"items": []any{map[string]any{"device_id": 1 + i%5}}})
		return "POST", "/api/v1/sales", string(body), map[string]string{"Idempotency-Key": fmt.Sprintf("buyer-%d", i)}
	})
	var sold, lines, distinct int64
	db.Raw(`SELECT COUNT(*) FROM devices WHERE state = 'sold'`).Scan(&sold)
	db.Raw(`SELECT COUNT(*), COUNT(DISTINCT device_id) FROM sale_lines`).Row().Scan(&lines, &distinct)
	if statuses[201] != 5 || statuses[409] != 35 || sold != 5 || lines != 5 || distinct != 5 {
		t.Fatalf("statuses %v; %d devices sold, %d lines over %d devices", statuses, sold, lines, distinct)
	}
	runBinary(t, env, "All invariants hold", "check")
}

// TestTwoProcessesNumberTaxReceiptsWithoutGaps starts two `tremplin serve`
// processes on one PostgreSQL database and issues twenty tax receipts at
// once through both: numbers 1 to 20 of the year, each once.
func TestTwoProcessesNumberTaxReceiptsWithoutGaps(t *testing.T) {
	env, db := migratedPostgres(t, "admin@example.org")
	seed(t, db, []string{
		`UPDATE network_identity SET legal_name = 'Réseau', address = '1 rue X', siren = '123456789', tax_receipts = TRUE`,
		`INSERT INTO organizations (kind, name, timezone, address, siren, created_at, updated_at) VALUES ('donor', 'Donateur SA', 'Europe/Paris', '2 rue Y', '552100554', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt', 'Europe/Paris', now(), now())`,
		`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) SELECT 1, 2, '2026-01-01', now() FROM generate_series(1, 20)`,
	}, 0, "")
	servers, tokens := twoServers(t, env, "admin@example.org")
	statuses := race(servers, tokens, 20, func(i int) (string, string, string, map[string]string) {
		return "POST", fmt.Sprintf("/api/v1/donations/%d/tax-receipt", i+1), `{"value_cents":10000,"valuation":"forfait"}`, nil
	})
	var n, distinct, lo, hi int64
	db.Raw(`SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM tax_receipts`).Row().Scan(&n, &distinct, &lo, &hi)
	if statuses[201] != 20 || n != 20 || distinct != 20 || lo != 1 || hi != 20 {
		t.Fatalf("statuses %v; %d receipts, %d numbers from %d to %d", statuses, n, distinct, lo, hi)
	}
}

// TestTwoProcessesSellAccessoriesWithoutOverselling (issue 29) starts two
// `tremplin serve` processes on one PostgreSQL database and has 20 buyers
// take one charger each through both when 10 are in stock: exactly 10
// sold, the stock at 0, and tremplin check finds the ledger whole.
func TestTwoProcessesSellAccessoriesWithoutOverselling(t *testing.T) {
	env, db := migratedPostgres(t, "caisse@example.org")
	codes := seed(t, db, []string{
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('space', 'Espace', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('prescriber', 'CCAS', 'Europe/Paris', now(), now())`,
		`INSERT INTO accessories (name, kind, price_cents, low_stock_threshold, active, created_at, updated_at) VALUES ('Chargeur USB-C', 'charger', 500, 0, true, now(), now())`,
		`INSERT INTO accessory_movements (accessory_id, site_id, quantity, kind, created_at) VALUES (1, 1, 10, 'receipt', now())`,
		`INSERT INTO accessory_stock (site_id, accessory_id, available) VALUES (1, 1, 10)`,
	}, 20, "smartphone")
	runBinary(t, env, "Figures rebuilt from the history", "reports", "rebuild") // the vouchers were written behind the service's back
	servers, tokens := twoServers(t, env, "caisse@example.org")
	statuses := race(servers, tokens, 20, func(i int) (string, string, string, map[string]string) {
		body, _ := json.Marshal(map[string]any{"site_id": 1, "voucher_code": codes[i], "payment_method": "cash",
			"items": []any{map[string]any{"accessory_id": 1, "quantity": 1}}})
		return "POST", "/api/v1/sales", string(body), map[string]string{"Idempotency-Key": fmt.Sprintf("charger-%d", i)}
	})
	var available, sold int64
	db.Raw(`SELECT available FROM accessory_stock WHERE site_id = 1 AND accessory_id = 1`).Scan(&available)
	db.Raw(`SELECT COALESCE(SUM(quantity), 0) FROM sale_accessories`).Scan(&sold)
	if statuses[201] != 10 || statuses[409] != 10 || available != 0 || sold != 10 {
		t.Fatalf("statuses %v; %d sold, %d left", statuses, sold, available)
	}
	runBinary(t, env, "All invariants hold", "check")
}

// TestTwoProcessesReserveOneDevice (issue 30) starts two `tremplin serve`
// processes on one PostgreSQL database and has ten vouchers reserve the one
// laptop of a space through both at once: one reservation, nine told none
// is available.
func TestTwoProcessesReserveOneDevice(t *testing.T) {
	env, db := migratedPostgres(t, "admin@example.org")
	codes := seed(t, db, []string{
		`INSERT INTO organizations (kind, name, timezone, address, created_at, updated_at) VALUES ('space', 'Espace', 'Europe/Paris', '1 rue X, 75020 Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('prescriber', 'CCAS', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('donor', 'Donateur', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt', 'Europe/Paris', now(), now())`,
		`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES (3, 4, '2026-01-01', now())`,
		`INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
			VALUES ('PC-1', 1, 'laptop', 'Lenovo', 'X260', '{}', 'B', 9000, 'in_stock', 1, now(), now())`,
	}, 10, "laptop")
	servers, tokens := twoServers(t, env, "admin@example.org")
	statuses := race(servers, tokens, 10, func(i int) (string, string, string, map[string]string) {
		return "POST", "/api/v1/reservations", fmt.Sprintf(`{"voucher_code":%q,"site_id":1,"category":"laptop"}`, codes[i]), nil
	})
	var active, reserved int64
	db.Raw(`SELECT COUNT(*) FROM reservations WHERE status = 'active'`).Scan(&active)
	db.Raw(`SELECT COUNT(*) FROM devices WHERE reserved_voucher_id IS NOT NULL`).Scan(&reserved)
	if statuses[201] != 1 || statuses[409] != 9 || active != 1 || reserved != 1 {
		t.Fatalf("statuses %v; %d active reservations, %d devices set aside", statuses, active, reserved)
	}
}
