package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/testenv"
)

func login(t *testing.T, base, email, password string) string {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("login %s: %d %s", email, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s.Token
}

func TestUsageAndBadFlags(t *testing.T) {
	env := testEnv(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage"},
		{[]string{"fly"}, 2, `unknown command "fly"`},
		{[]string{"serve", "--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"migrate", "sideways"}, 1, `unknown migrate action "sideways"`},
		{[]string{"admin"}, 1, "usage: tremplin admin create"},
		{[]string{"admin", "create", "--email", "a@example.org"}, 2, "--email and --password are required"},
	}
	for _, c := range cases {
		code, _, stderr := runCmd(t, env, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("tremplin %v: exit %d, stderr %q; want exit %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
	bad := testEnv(t)
	bad["TREMPLIN_TOKEN_TTL"] = "forever"
	if code, _, stderr := runCmd(t, bad, "migrate"); code != 1 || !strings.Contains(stderr, "TREMPLIN_TOKEN_TTL") {
		t.Errorf("bad config: exit %d, %q", code, stderr)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_DATABASE_URL"] = "postgres://tremplin:secret@127.0.0.1:1/nowhere?sslmode=disable&connect_timeout=2"
	code, _, stderr := runCmd(t, env, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "database unreachable") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if strings.Contains(stderr, "secret") {
		t.Fatalf("password printed: %q", stderr)
	}
	env["TREMPLIN_DATABASE_URL"] = "mysql://localhost/x"
	if code, _, stderr := runCmd(t, env, "migrate"); code != 1 || !strings.Contains(stderr, "only postgres://") {
		t.Fatalf("mysql URL: exit %d, %q", code, stderr)
	}
}

func TestMigrateUpStatusIdempotent(t *testing.T) {
	env := testEnv(t)
	code, out, stderr := runCmd(t, env, "migrate", "status")
	if testenv.Engine() == database.SQLite {
		// No file yet: status says so rather than create one (migrate up does).
		if code != 1 || !strings.Contains(stderr, "no database at") {
			t.Fatalf("status before: %d %q %q", code, out, stderr)
		}
	} else if code != 0 || !strings.Contains(out, "pending") {
		t.Fatalf("status before: %d %q %q", code, out, stderr)
	}
	code, out, stderr = runCmd(t, env, "migrate", "up")
	if code != 0 || !strings.Contains(out, "Applied") {
		t.Fatalf("first up: %d %q %q", code, out, stderr)
	}
	code, out, _ = runCmd(t, env, "migrate", "up")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second up: %d %q", code, out)
	}
	code, out, _ = runCmd(t, env, "migrate", "status")
	if code != 0 || strings.Contains(out, "pending") || !strings.Contains(out, "00001_foundation.sql") {
		t.Fatalf("status after: %d %q", code, out)
	}
}

func TestSchemaNewerThanBinaryIsRefused(t *testing.T) {
	env := testEnv(t)
	if code, _, stderr := runCmd(t, env, "migrate"); code != 0 {
		t.Fatal(stderr)
	}
	target, err := database.Resolve(env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`).Error
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCmd(t, env, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "newer than this binary") {
		t.Fatalf("serve on a newer schema: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCmd(t, env, "migrate", "status"); code != 1 {
		t.Fatalf("migrate status on a newer schema: exit %d", code)
	}
}

func TestFirstRunCreatesAdminOnce(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_ADMIN_EMAIL"] = "Chef@Example.org"
	s := startServe(t, env)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(s.Out.String())
	if m == nil {
		t.Fatalf("no admin password printed:\n%s", s.Out)
	}
	token := login(t, s.URL, "chef@example.org", m[1])
	if status := meStatus(t, s.URL, token); status != 200 {
		t.Fatalf("me: %d", status)
	}
	if code := s.Stop(t); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	// The second start prints no password and keeps the first one.
	s2 := startServe(t, env)
	if strings.Contains(s2.Out.String(), "password") {
		t.Fatalf("second start printed a password:\n%s", s2.Out)
	}
	login(t, s2.URL, "chef@example.org", m[1])
}

var demoLine = regexp.MustCompile(`(?m)^\s+(admin|warehouse|space|prescriber)\s+(\S+@\S+)\s+(\S+)\s`)

func TestDemoFillsAnEmptyDatabaseOnly(t *testing.T) {
	env := testEnv(t)
	s := startServe(t, env, "--demo")
	accounts := demoLine.FindAllStringSubmatch(s.Out.String(), -1)
	roles := map[string]int{}
	for _, a := range accounts {
		roles[a[1]]++
		login(t, s.URL, a[2], a[3])
	}
	if roles["admin"] != 1 || roles["warehouse"] != 1 || roles["space"] != 2 || roles["prescriber"] != 2 {
		t.Fatalf("demo accounts by role %v:\n%s", roles, s.Out)
	}
	// The network: one space in La Réunion, two prescribers, a donor, an operator.
	token := login(t, s.URL, accounts[0][2], accounts[0][3])
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/organizations", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Items []struct{ Kind, Timezone string }
	}
	json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	kinds := map[string]int{}
	reunion := false
	for _, o := range l.Items {
		kinds[o.Kind]++
		reunion = reunion || o.Timezone == "Indian/Reunion" && o.Kind == "space"
	}
	if kinds["warehouse"] != 1 || kinds["space"] != 2 || kinds["prescriber"] != 2 || kinds["donor"] != 1 || kinds["operator"] != 1 || !reunion {
		t.Fatalf("demo organisations %v (space in La Réunion: %v)", kinds, reunion)
	}
	// Vouchers to try at the counter.
	codes := regexp.MustCompile(`(?m)^  ([2-9A-Y]{4}-[2-9A-Y]{4}-[2-9A-Y]{4}) \(`).FindAllStringSubmatch(s.Out.String(), -1)
	if len(codes) != 3 {
		t.Fatalf("demo voucher codes: %v\n%s", codes, s.Out)
	}
	// Stock at every step: three devices in stock at the Paris space, one on its way to La Réunion.
	for state, want := range map[string]int{"in_stock": 12, "in_transit": 1, "in_repair": 1, "recycled": 1} {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/devices?state="+state, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l struct{ Items []any }
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if len(l.Items) != want {
			t.Errorf("demo devices %s: %d, want %d", state, len(l.Items), want)
		}
	}
	// A newcomer sells a device and a recharge to a demo voucher at once,
	// creating nothing first.
	var counter string
	for _, a := range accounts {
		if a[2] == "belleville@demo.tremplin.local" {
			counter = login(t, s.URL, a[2], a[3])
		}
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+counter)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
	}
	var me struct{ Organization struct{ ID int64 } }
	get("/api/v1/me", &me)
	var phones struct{ Items []struct{ ID int64 } }
	get("/api/v1/devices?state=in_stock&category=smartphone", &phones)
	var products struct{ Items []struct{ ID int64 } }
	get("/api/v1/recharge-products", &products)
	var stock []struct {
		ProductID int64 `json:"product_id"`
		Available int   `json:"available"`
		Low       bool
	}
	get(fmt.Sprintf("/api/v1/recharge-stock?site_id=%d", me.Organization.ID), &stock)
	low := 0
	for _, l := range stock {
		if l.Low {
			low++
		}
	}
	if len(phones.Items) == 0 || len(products.Items) < 2 || len(stock) < 2 || low != 1 {
		t.Fatalf("the demo counter has %d phones, %d products, stock %+v", len(phones.Items), len(products.Items), stock)
	}
	sale := fmt.Sprintf(`{"site_id":%d,"voucher_code":%q,"payment_method":"cash","items":[{"device_id":%d},{"product_id":%d,"quantity":1}]}`,
		me.Organization.ID, codes[0][1], phones.Items[0].ID, products.Items[0].ID)
	req, _ = http.NewRequest("POST", s.URL+"/api/v1/sales", strings.NewReader(sale))
	req.Header.Set("Authorization", "Bearer "+counter)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "demo-first-sale")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(b), `"pin":"`) {
		t.Fatalf("the first sale of a newcomer: %d %s", resp.StatusCode, b)
	}
	s.Stop(t)

	// Devices to scan at once, each said with where (issue 27, item 18).
	_, tried, _ := strings.Cut(s.Out.String(), "Demo devices to scan:")
	if n := len(demoDevice.FindAllString(tried, -1)); n < 3 || !strings.Contains(tried, "/poste") || !strings.Contains(tried, "/caisse") {
		t.Fatalf("%d demo devices to try:\n%s", n, s.Out)
	}
	code, _, stderr := runCmd(t, env, "serve", "--addr", "127.0.0.1:0", "--demo")
	if code != 1 || !strings.Contains(stderr, "not empty") || !strings.Contains(stderr, "without --demo") {
		t.Fatalf("second --demo: exit %d, %q", code, stderr)
	}
}

var demoDevice = regexp.MustCompile(`(?m)^  [A-Z]+-[0-9]{5} \(`)

func TestAdminCreate(t *testing.T) {
	env := testEnv(t)
	code, _, stderr := runCmd(t, env, "admin", "create", "--email", "a@example.org", "--password", "0123456789")
	// No schema yet (PostgreSQL), or no database file at all (SQLite).
	if code != 1 || !(strings.Contains(stderr, "migrate up") || strings.Contains(stderr, "no database at")) {
		t.Fatalf("before migrations: exit %d, %q", code, stderr)
	}
	runCmd(t, env, "migrate")
	code, _, stderr = runCmd(t, env, "admin", "create", "--email", "a@example.org", "--password", "short")
	if code != 1 || !strings.Contains(stderr, "at least 10 characters") {
		t.Fatalf("weak password: exit %d, %q", code, stderr)
	}
	code, out, stderr := runCmd(t, env, "admin", "create", "--email", "a@example.org", "--password", "0123456789", "--name", "Ana")
	if code != 0 || !strings.Contains(out, "a@example.org created") {
		t.Fatalf("create: exit %d, %q %q", code, out, stderr)
	}
	code, _, stderr = runCmd(t, env, "admin", "create", "--email", "A@example.org", "--password", "0123456789")
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("duplicate: exit %d, %q", code, stderr)
	}
	s := startServe(t, env)
	if strings.Contains(s.Out.String(), "password:") {
		t.Fatal("an admin already exists, yet a first admin was created")
	}
	login(t, s.URL, "a@example.org", "0123456789")
}

// TestSIGTERMShutsDownCleanly runs the real binary and stops it with SIGTERM.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_LOG_LEVEL"] = "info"
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0")
	cmd.Env = environ(env)
	stdout, _ := cmd.StdoutPipe()
	var stderr testenv.LockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	url := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	if url == "" {
		cmd.Process.Kill()
		t.Fatalf("never listened: %s", stderr.String())
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit within 20s of SIGTERM")
	}
	if !strings.Contains(stderr.String(), "shutdown complete") {
		t.Fatalf("no shutdown log:\n%s", stderr.String())
	}
}

// TestTwoProcessesMigrateTogether starts two real processes on one fresh
// PostgreSQL database at once: the advisory lock makes one migrate and the
// other find nothing to do, and each migration is recorded once.
func TestTwoProcessesMigrateTogether(t *testing.T) {
	url := testenv.FreshPostgres(t)
	bin := binary(t)
	var wg sync.WaitGroup
	outs := make([]string, 4)
	errs := make([]error, 4)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "migrate", "up", "--database", url)
			cmd.Env = environ(map[string]string{"TREMPLIN_DATA_DIR": t.TempDir()})
			b, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(b), err
		}()
	}
	wg.Wait()
	applied := 0
	for i := range outs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		if strings.Contains(outs[i], "Applied") {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("%d processes applied migrations, want exactly 1:\n%s", applied, strings.Join(outs, "\n"))
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var dup int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM (SELECT version_id FROM goose_db_version GROUP BY version_id HAVING COUNT(*) > 1) d`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d versions recorded twice", dup)
	}
}

// TestImportRechargesCommand runs `tremplin import-recharges` on a file, twice,
// then rotates the PIN key with `tremplin keys rotate`.
func TestImportRechargesCommand(t *testing.T) {
	env := testEnv(t)
	db := migrated(t, env)
	now := database.Now()
	db.Exec(`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt', 'Europe/Paris', ?, ?), ('operator', 'Opérateur', 'Europe/Paris', ?, ?)`, now, now, now, now)
	db.Exec(`INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at) VALUES (2, 'Recharge 5 €', 500, 100, 0, true, ?, ?)`, now, now)
	file := filepath.Join(t.TempDir(), "cartes.csv")
	var b strings.Builder
	b.WriteString("serial,pin,expires_on\n")
	for i := range 120_000 {
		fmt.Fprintf(&b, "C%07d,%06d,%s\n", i, i, time.Now().AddDate(1, 0, 0).Format(time.DateOnly))
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// The big file goes through the real binary: under -race, in-process SQLite
	// (C translated to Go) would take minutes.
	bin := binary(t)
	runBin := func(args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = environ(env)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errOut.String()
	}
	code, out, stderr := runBin("import-recharges", "--product", "1", "--site", "1", file)
	if code != 0 || !strings.Contains(out, "Imported 120000 cards as batch 1") || !strings.Contains(out, "100000 lines read") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, stderr)
	}
	code, _, stderr = runBin("import-recharges", file, "--site", "1", "--product", "1")
	if code != 1 || !strings.Contains(stderr, "already imported") {
		t.Fatalf("second import: exit %d, %q", code, stderr)
	}
	if code, _, _ := runCmd(t, env, "import-recharges", "--product", "1", file); code != 2 {
		t.Fatalf("missing --site: exit %d", code)
	}

	// Rotate: the new key seals, the old one is kept as previous until done.
	env["TREMPLIN_SECRET_KEY_PREVIOUS"] = env["TREMPLIN_SECRET_KEY"]
	env["TREMPLIN_SECRET_KEY"] = "bmV3IGtleSBvZiAzMiBieXRlcyBmb3IgVHJlbXBsaW4="
	code, out, stderr = runBin("keys", "rotate")
	if code != 0 || !strings.Contains(out, "120000 PINs re-sealed") {
		t.Fatalf("rotate: exit %d %q %q", code, out, stderr)
	}
	var ids []string
	db.Raw(`SELECT DISTINCT pin_key_id FROM recharge_units`).Scan(&ids)
	if len(ids) != 1 {
		t.Fatalf("key ids after rotation: %v", ids)
	}
	// A secret key is never echoed, even when it is bad.
	env["TREMPLIN_SECRET_KEY"] = "c2VjcmV0LWJ1dC1zaG9ydA=="
	code, _, stderr = runCmd(t, env, "keys", "rotate")
	if code != 1 || strings.Contains(stderr, "c2VjcmV0") || !strings.Contains(stderr, "TREMPLIN_SECRET_KEY") {
		t.Fatalf("bad key: exit %d, %q", code, stderr)
	}
}

func TestPostgresNeedsASecretKey(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_DATABASE_URL"] = testenv.FreshPostgres(t)
	delete(env, "TREMPLIN_SECRET_KEY")
	code, _, stderr := runCmd(t, env, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "TREMPLIN_SECRET_KEY is required with PostgreSQL") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

func TestEmbeddedDefaultGeneratesAKey(t *testing.T) {
	env := testEnv(t)
	env["TREMPLIN_DATABASE_URL"] = ""
	delete(env, "TREMPLIN_SECRET_KEY")
	s := startServe(t, env)
	if !strings.Contains(s.Out.String(), "Generated the key that seals recharge PINs in "+filepath.Join(env["TREMPLIN_DATA_DIR"], "secret.key")) {
		t.Fatalf("no word of the generated key:\n%s", s.Out)
	}
	s.Stop(t)
	s2 := startServe(t, env)
	if strings.Contains(s2.Out.String(), "Generated the key") {
		t.Fatal("a second key was generated")
	}
	// Stopped and waited for here: serve's jobs write to the database at
	// start, and a process still writing left the data dir undeletable.
	s2.Stop(t)
}

func TestAnonymiseCommand(t *testing.T) {
	env := testEnv(t)
	db := migrated(t, env)
	now := database.Now()
	old := now.AddDate(-3, 0, 0)
	db.Exec(`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('prescriber', 'CCAS', 'Europe/Paris', ?, ?)`, now, now)
	db.Exec(`INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at) VALUES
		(1, 'Ancien', 'Nom', 'ancien|nom', ?, ?), (1, 'Récent', 'Nom', 'recent|nom', ?, ?)`, old, old, now, now)
	for _, bad := range [][]string{{"beneficiaries"}, {"beneficiaries", "anonymise", "--older-than", "soon"}, {"beneficiaries", "anonymise", "--older-than", "3w"}} {
		if code, _, _ := runCmd(t, env, bad...); code == 0 {
			t.Errorf("%v accepted", bad)
		}
	}
	code, out, stderr := runCmd(t, env, "beneficiaries", "anonymise", "--older-than", "24m")
	if code != 0 || !strings.HasPrefix(out, "1 beneficiaries with no activity since") {
		t.Fatalf("exit %d %q %q", code, out, stderr)
	}
	var names []string
	db.Raw(`SELECT first_name FROM beneficiaries ORDER BY id`).Scan(&names)
	if fmt.Sprint(names) != "[ Récent]" {
		t.Fatalf("names after anonymisation %q", names)
	}
}

// migrated runs `tremplin migrate` in env and opens its database, closed
// when the test ends.
func migrated(t *testing.T, env map[string]string) *database.DB {
	t.Helper()
	if code, _, stderr := runCmd(t, env, "migrate"); code != 0 {
		t.Fatal(stderr)
	}
	return testenv.Open(t, env["TREMPLIN_DATABASE_URL"], env["TREMPLIN_DATA_DIR"])
}

// meStatus is the status of GET /api/v1/me with a bearer token.
func meStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
