package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/migrations"
)

// seedSales is a migrated database with an admin (password 0123456789),
// a space (id 1) and n devices in stock there (ids 1..n), each with a
// voucher of one device; it returns the voucher codes.
func seedSales(t *testing.T, env map[string]string, n int) []string {
	t.Helper()
	for _, args := range [][]string{{"migrate", "up"}, {"admin", "create", "--email", "caisse@example.org", "--password", "0123456789"}} {
		if code, out, errOut := runCmd(t, env, args...); code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errOut)
		}
	}
	db := testenv.Open(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	now := database.Now()
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, kind := range []string{"space", "prescriber", "donor", "warehouse"} {
		exec(`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES (?, ?, 'Europe/Paris', ?, ?)`, kind, "Org "+kind, now, now)
	}
	exec(`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) VALUES (3, 4, '2026-01-01', ?)`, now)
	codes := make([]string, n)
	for i := range n {
		exec(`INSERT INTO devices (tag, donation_id, category, brand, model, specs, grade, price_cents, state, site_id, created_at, updated_at)
			VALUES (?, 1, 'smartphone', 'Samsung', 'A52', '{}', 'B', ?, 'in_stock', 1, ?, ?)`, fmt.Sprintf("TEL-%05d", i+1), 1000+100*i, now, now)
		exec(`INSERT INTO device_events (device_id, action, from_state, to_state, at, data) VALUES (?, 'receive', 'in_transit', 'in_stock', ?, '{}')`, i+1, now.Add(-time.Hour))
		exec(`INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at) VALUES (2, ?, 'N', ?, ?, ?)`,
			fmt.Sprintf("P%d", i), fmt.Sprintf("p%d|n", i), now, now)
		codes[i], _ = distribution.NewCode()
		exec(`INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
			valid_until, expires_at, status, created_at) VALUES (?, ?, 2, '["smartphone"]', 1, 0, '2099-01-01', ?, 'active', ?)`,
			codes[i], i+1, now.AddDate(1, 0, 0), now)
	}
	if code, out, errOut := runCmd(t, env, "reports", "rebuild"); code != 0 {
		t.Fatalf("reports rebuild: %s%s", out, errOut)
	}
	return codes
}

// sellOne sells device i+1 on voucher i and returns the status and when
// the answer came.
func sellOne(base, token, code string, i int) (int, time.Time) {
	body := fmt.Sprintf(`{"site_id":1,"voucher_code":%q,"payment_method":"cash","items":[{"device_id":%d}]}`, code, i+1)
	req, _ := http.NewRequest("POST", base+"/api/v1/sales", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("drill-%d", i))
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return -1, time.Now()
	}
	resp.Body.Close()
	return resp.StatusCode, time.Now()
}

// TestRestoreDrill: a backup taken during a burst of sales, restored into
// an empty database elsewhere, holds every sale acknowledged before the
// backup began, and the check is clean (the journal's rule included).
// Restoring into a database that holds data is refused and changes
// nothing; a copy whose hash does not match is refused and creates
// nothing.
func TestRestoreDrill(t *testing.T) {
	env := testEnv(t)
	codes := seedSales(t, env, 60)
	srv := startServe(t, env)
	token := login(t, srv.URL, "caisse@example.org", "0123456789")
	for i := range 20 {
		if st, _ := sellOne(srv.URL, token, codes[i], i); st != 201 {
			t.Fatalf("sale %d before the burst: %d", i, st)
		}
	}
	// The burst: 40 sales at once, the backup in their midst.
	type answer struct {
		status int
		at     time.Time
	}
	answers := make([]answer, 60)
	var wg sync.WaitGroup
	var answered atomic.Int32
	for i := 20; i < 60; i++ {
		wg.Go(func() {
			st, at := sellOne(srv.URL, token, codes[i], i)
			answers[i] = answer{st, at}
			answered.Add(1)
		})
	}
	for answered.Load() < 8 { // a few of the burst acknowledged, the rest in flight
		time.Sleep(time.Millisecond)
	}
	dir := t.TempDir()
	began := time.Now()
	code, out, errOut := runCmd(t, env, "backup", "--to", dir)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "not in the backup") || !strings.Contains(out, "SHA-256") {
		t.Errorf("the backup does not say where the key is and what its hash is:\n%s", out)
	}
	files, _ := backup.List(dir)
	if len(files) != 1 {
		t.Fatalf("backups written: %v", files)
	}
	file := files[0]
	var before []int
	for i := range 20 {
		before = append(before, i)
	}
	for i := 20; i < 60; i++ {
		if answers[i].status != 201 {
			t.Fatalf("burst sale %d: %d", i, answers[i].status)
		}
		if answers[i].at.Before(began) {
			before = append(before, i)
		}
	}

	// Elsewhere: an empty database of the same engine.
	elsewhere := testEnv(t)
	code, out, errOut = runCmd(t, elsewhere, "restore", file)
	if code != 0 || !strings.Contains(out, "All invariants hold") {
		t.Fatalf("restore: %d\n%s%s", code, out, errOut)
	}
	restored := testenv.Open(t, elsewhere["TREMPLIN_DATABASE_URL"], elsewhere["TREMPLIN_DATA_DIR"])
	for _, i := range before {
		var n int64
		restored.Raw(`SELECT COUNT(*) FROM sales s JOIN vouchers v ON v.id = s.voucher_id WHERE v.code = ? AND s.total_cents = ?`, codes[i], 1000+100*i).Scan(&n)
		if n != 1 {
			t.Errorf("sale %d, acknowledged before the backup began, is not in the restored database", i)
		}
	}
	t.Logf("%d sales acknowledged before the backup began, all restored", len(before))
	// The restored database serves: its admin logs in.
	srv2 := startServe(t, elsewhere)
	login(t, srv2.URL, "caisse@example.org", "0123456789")
	srv2.Stop(t)

	// Into a database that holds data: refused, nothing changed.
	var sales int64
	restored.Raw(`SELECT COUNT(*) FROM sales`).Scan(&sales)
	code, _, errOut = runCmd(t, elsewhere, "restore", file)
	if code == 0 || !strings.Contains(errOut, "not empty") {
		t.Fatalf("restore into a database with data: %d %s", code, errOut)
	}
	var after int64
	restored.Raw(`SELECT COUNT(*) FROM sales`).Scan(&after)
	if after != sales {
		t.Fatalf("a refused restore changed the sales: %d, then %d", sales, after)
	}

	// A damaged copy: refused before anything is written.
	damaged := filepath.Join(t.TempDir(), filepath.Base(file))
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 0xff
	os.WriteFile(damaged, b, 0o600)
	sum, _ := os.ReadFile(file + ".sha256")
	os.WriteFile(damaged+".sha256", sum, 0o600)
	third := testEnv(t)
	code, _, errOut = runCmd(t, third, "restore", damaged)
	if code == 0 || !strings.Contains(errOut, "does not match") {
		t.Fatalf("restore of a damaged copy: %d %s", code, errOut)
	}
	target, _ := database.Resolve(third["TREMPLIN_DATABASE_URL"], third["TREMPLIN_DATA_DIR"])
	if target.Engine == database.SQLite {
		if _, err := os.Stat(target.Where); err == nil {
			t.Fatalf("a refused restore created %s", target.Where)
		}
	} else {
		var tables int64
		testenv.Open(t, third["TREMPLIN_DATABASE_URL"], "").Raw(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'`).Scan(&tables)
		if tables != 0 {
			t.Fatalf("a refused restore created %d tables", tables)
		}
	}
}

// TestDailyBackupIsTakenOnceADay: from 03:00 local time, or at the first
// look after it, once; the oldest beyond the number kept are removed.
func TestDailyBackupIsTakenOnceADay(t *testing.T) {
	env := testEnv(t)
	if code, out, errOut := runCmd(t, env, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s%s", out, errOut)
	}
	db := testenv.Open(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	target, _ := database.Resolve(env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	dir := t.TempDir()
	paris, _ := time.LoadLocation("Europe/Paris")
	ctx := context.Background()
	took := func(at time.Time) bool {
		t.Helper()
		r, err := backupIfDue(ctx, db, target, dir, 2, at)
		if err != nil {
			t.Fatal(err)
		}
		return r != nil
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, paris) }
	steps := []struct {
		at   time.Time
		want bool
	}{
		{day(7, 14, 0), true},   // never taken: at once
		{day(7, 14, 10), false}, // today's is there
		{day(8, 2, 50), false},  // not 03:00 yet
		{day(8, 3, 0), true},
		{day(8, 23, 0), false},
		{day(11, 9, 30), true}, // off for two nights: on the next start
	}
	for _, s := range steps {
		if got := took(s.at); got != s.want {
			t.Fatalf("at %s: took %v, want %v", s.at, got, s.want)
		}
	}
	files, _ := backup.List(dir)
	if len(files) != 2 || !strings.Contains(files[0], "20261208T020000Z") || !strings.Contains(files[1], "20261211T083000Z") {
		t.Fatalf("kept %v", files)
	}
	for _, f := range files {
		if _, err := backup.Verify(f); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*20261207*")); len(left) != 0 {
		t.Fatalf("the oldest backup and its hash stay: %v", left)
	}
	last, err := backup.Last(ctx, db)
	if err != nil || !last.Equal(day(11, 9, 30)) {
		t.Fatalf("last backup %v %v", last, err)
	}
}

// TestRestoreMigratesAnOlderBackup: a backup taken by an older Tremplin
// (its schema one migration behind) is restored, brought up to date and
// checked.
func TestRestoreMigratesAnOlderBackup(t *testing.T) {
	env := testEnv(t)
	seedSales(t, env, 3)
	db := testenv.Open(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	fsys, err := migrations.For(string(db.Engine))
	if err != nil {
		t.Fatal(err)
	}
	dialect := goose.DialectSQLite3
	if db.Engine == database.Postgres {
		dialect = goose.DialectPostgres
	}
	sqlDB, _ := db.DB.DB()
	p, err := goose.NewProvider(dialect, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	down, err := p.Down(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if code, out, errOut := runCmd(t, env, "backup", "--to", dir); code != 0 {
		t.Fatalf("backup of the older schema: %s%s", out, errOut)
	}
	files, _ := backup.List(dir)
	elsewhere := testEnv(t)
	code, out, errOut := runCmd(t, elsewhere, "restore", files[0])
	want := fmt.Sprintf("applied 1 migration(s) [%d]", down.Source.Version)
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "All invariants hold") {
		t.Fatalf("restore of an older backup (want %q): %d\n%s%s", want, code, out, errOut)
	}
}

// TestBackupRefusals: what a backup or a restore refuses says why and
// what to do, and changes nothing.
func TestBackupRefusals(t *testing.T) {
	env := testEnv(t)
	seedSales(t, env, 1)
	dir := t.TempDir()
	if code, out, errOut := runCmd(t, env, "backup", "--to", dir); code != 0 {
		t.Fatalf("backup: %s%s", out, errOut)
	}
	files, _ := backup.List(dir)
	file := files[0]
	other := ".dump"
	if strings.HasSuffix(file, ".dump") {
		other = ".db"
	}
	// The other engine's kind of file.
	renamed := strings.TrimSuffix(file, filepath.Ext(file)) + other
	b, _ := os.ReadFile(file)
	os.WriteFile(renamed, b, 0o600)
	sum, _ := os.ReadFile(file + ".sha256")
	os.WriteFile(renamed+".sha256", []byte(strings.Replace(string(sum), filepath.Base(file), filepath.Base(renamed), 1)), 0o600)
	// A file without its hash, and one that is no backup.
	bare := filepath.Join(t.TempDir(), filepath.Base(file))
	os.WriteFile(bare, b, 0o600)
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("hello"), 0o600)
	os.WriteFile(notes+".sha256", []byte(strings.Repeat("0", 64)+"  notes.txt\n"), 0o600)
	for _, c := range []struct {
		file, want string
	}{
		{renamed, "restore it into a"},
		{bare, "no hash beside it"},
		{notes, "does not match"},
		{filepath.Join(dir, "missing.db"), "no hash beside it"},
	} {
		fresh := testEnv(t)
		code, _, errOut := runCmd(t, fresh, "restore", c.file)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("restore %s: %d %q, want %q", filepath.Base(c.file), code, errOut, c.want)
		}
	}
	if code, _, errOut := runCmd(t, env, "restore"); code != 2 || !strings.Contains(errOut, "usage: tremplin restore FILE") {
		t.Errorf("restore without a file: %d %q", code, errOut)
	}
	// PostgreSQL without its client tools: said, with the package.
	if testenv.Engine() == database.Postgres {
		t.Setenv("PATH", t.TempDir())
		code, _, errOut := runCmd(t, env, "backup", "--to", t.TempDir())
		if code == 0 || !strings.Contains(errOut, "pg_dump is not installed") || !strings.Contains(errOut, "postgresql-client") {
			t.Errorf("backup without pg_dump: %d %q", code, errOut)
		}
	}
}
