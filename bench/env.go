package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// env is the system under test: a fresh database, `tremplin serve` running
// on it, and an admin token.
type env struct {
	quick   bool
	admin   *sql.DB
	dbName  string
	dbURL   string
	dir     string
	bin     string
	serving *instance
	server  *exec.Cmd
	baseURL string
	token   string
	seeded  bool
	env     []string

	yearSeeded bool          // report_summary's year is in the database
	rebuild    time.Duration // how long the figures took to rebuild from it
}

// run runs a tremplin command against the bench's database.
func (e *env) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tremplin %v: %v\n%s", args, err, out)
	}
	return nil
}

const benchPassword = "bench password 1234"

func newEnv(ctx context.Context, quick bool) (*env, error) {
	server := os.Getenv("TREMPLIN_BENCH_DATABASE_URL")
	if server == "" {
		server = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w (set TREMPLIN_BENCH_DATABASE_URL)", redact(server), err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	e := &env{quick: quick, admin: admin, dbName: "tremplin_bench_" + hex.EncodeToString(b[:])}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+e.dbName); err != nil {
		return nil, fmt.Errorf("create bench database: %w", err)
	}
	u, _ := url.Parse(server)
	u.Path = "/" + e.dbName
	e.dbURL = u.String()
	if e.dir, err = os.MkdirTemp("", "tremplin-bench-"); err != nil {
		e.close()
		return nil, err
	}
	if err := e.start(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// start builds tremplin, migrates, creates an admin, and serves.
func (e *env) start(ctx context.Context) error {
	e.bin = filepath.Join(e.dir, "tremplin")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.bin, "./cmd/tremplin")
	build.Dir = moduleRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build tremplin: %v\n%s", err, out)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	envv := append(os.Environ(), "TREMPLIN_DATABASE_URL="+e.dbURL, "TREMPLIN_DATA_DIR="+e.dir,
		"TREMPLIN_SECRET_KEY="+base64.StdEncoding.EncodeToString(key))
	e.env = envv
	inst, err := e.instance(ctx, e.dbURL, "serve")
	if err != nil {
		return err
	}
	e.serving, e.server, e.baseURL, e.token = inst, inst.server, inst.base, inst.token
	return nil
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startAndWaitListening starts cmd and returns the URL it says it listens on.
func startAndWaitListening(cmd *exec.Cmd) (string, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case u := <-found:
		return u, nil
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		return "", fmt.Errorf("%s did not listen within 60s", cmd.Path)
	}
}

func login(base string) (string, error) {
	body := fmt.Sprintf(`{"email":"bench@tremplin.local","password":%q}`, benchPassword)
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var s struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Token == "" {
		return "", fmt.Errorf("login: status %d", resp.StatusCode)
	}
	return s.Token, nil
}

// seedDevices puts n ready laptops at one warehouse, tagged BEN-000001... (once).
func (e *env) seedDevices(ctx context.Context, n int) error {
	if e.seeded {
		return nil
	}
	db, err := sql.Open("pgx", e.dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	stmts := []string{
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('warehouse', 'Entrepôt banc d''essai', 'Europe/Paris', now(), now())`,
		`INSERT INTO organizations (kind, name, timezone, created_at, updated_at) VALUES ('donor', 'Donateur banc d''essai', 'Europe/Paris', now(), now())`,
		`INSERT INTO donations (donor_id, warehouse_id, received_on, created_at) SELECT d.id, w.id, '2026-01-01', now()
			FROM organizations d, organizations w WHERE d.kind = 'donor' AND w.kind = 'warehouse'`,
		fmt.Sprintf(`INSERT INTO devices (tag, donation_id, category, brand, model, serial, specs, grade, price_cents, state, site_id, created_at, updated_at)
			SELECT 'BEN-' || lpad(g::text, 6, '0'), d.id, 'laptop', 'Lenovo', 'ThinkPad T' || (400 + g %% 100), 'SN' || g, '{}', 'B', 9000, 'ready',
			       d.warehouse_id, now(), now()
			FROM generate_series(1, %d) g, donations d`, n),
		`ANALYZE devices`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	e.seeded = true
	return nil
}

func (e *env) close() {
	if e.serving != nil {
		e.serving.stop()
	}
	if e.admin != nil {
		// TREMPLIN_BENCH_KEEP=1 leaves the database to look into (a plan,
		// the figures), and says where it is.
		if os.Getenv("TREMPLIN_BENCH_KEEP") == "1" {
			fmt.Fprintf(os.Stderr, "bench: database kept: %s\n", e.dbName)
		} else {
			_, _ = e.admin.Exec("DROP DATABASE IF EXISTS " + e.dbName + " WITH (FORCE)")
		}
		_ = e.admin.Close()
	}
	if e.dir != "" && os.Getenv("TREMPLIN_BENCH_KEEP") == "1" {
		fmt.Fprintf(os.Stderr, "bench: files kept (SQLite databases, logs): %s\n", e.dir)
	} else if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
	e.serving, e.server, e.admin, e.dir = nil, nil, nil, "" // a second close does nothing
}

// moduleRoot finds the directory holding go.mod, so the bench runs from anywhere in the repo.
// moduleRoot is the service's module (the bench is a module of its own
// inside it, so that its load generator is no dependency of the service).
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/tremplin/tremplin\n") {
			return d
		}
	}
	return dir
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(URL)"
	}
	return u.Redacted()
}

// rssMB reads a process's resident memory from /proc.
func rssMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func openBenchDB(e *env) (*sql.DB, error) { return sql.Open("pgx", e.dbURL) }

// withStock seeds the device stock, opens the bench database and adds one
// organisation per (kind, name) pair, returning their ids in order.
func (e *env) withStock(ctx context.Context, orgs ...[2]string) (*sql.DB, []int64, error) {
	if err := e.seedDevices(ctx, scanDevices); err != nil {
		return nil, nil, err
	}
	db, err := openBenchDB(e)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(orgs))
	for i, o := range orgs {
		if ids[i], err = insertOrg(ctx, db, o[0], o[1]); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	return db, ids, nil
}

// insertOrg adds an organisation of a kind to the bench database.
func insertOrg(ctx context.Context, db *sql.DB, kind, name string) (int64, error) {
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO organizations (kind, name, timezone, address, created_at, updated_at)
		VALUES ($1, $2, 'Europe/Paris', '1 place de la Mairie, 93100 Montreuil', now(), now()) RETURNING id`, kind, name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed %s: %w", kind, err)
	}
	return id, nil
}

// insertBeneficiary adds one person followed by an organisation.
func insertBeneficiary(ctx context.Context, db *sql.DB, org int64) (int64, error) {
	var id int64
	err := db.QueryRowContext(ctx, `INSERT INTO beneficiaries (organization_id, first_name, last_name, name_key, created_at, last_activity_at)
		VALUES ($1, 'Zoé', 'Lefèvre', 'zoe|lefevre', now(), now()) RETURNING id`, org).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("seed beneficiary: %w", err)
	}
	return id, nil
}

// instance is a `tremplin serve` of its own on a database of its own.
type instance struct {
	base   string
	token  string
	env    []string
	bin    string
	dir    string
	server *exec.Cmd
}

// sideDatabase creates another fresh PostgreSQL database beside the bench's
// and returns its URL and how to drop it.
func (e *env) sideDatabase(ctx context.Context, suffix string) (string, func(), error) {
	name := e.dbName + "_" + suffix
	if _, err := e.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create %s: %w", name, err)
	}
	u, _ := url.Parse(e.dbURL)
	u.Path = "/" + name
	return u.String(), func() {
		if os.Getenv("TREMPLIN_BENCH_KEEP") == "1" {
			fmt.Fprintf(os.Stderr, "bench: database kept: %s\n", name)
			return
		}
		_, _ = e.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	}, nil
}

// copyDatabase copies the database of dsn (which nobody may be connected
// to) into a new one named after it, and returns its URL and how to drop it.
func (e *env) copyDatabase(ctx context.Context, dsn, suffix string) (string, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	src, name := strings.TrimPrefix(u.Path, "/"), e.dbName+"_"+suffix
	for try := 0; ; try++ {
		// The connections just closed may still be leaving the server.
		_, err = e.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+src)
		if err == nil || try == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return "", nil, fmt.Errorf("copy %s: %w", src, err)
	}
	c := *u
	c.Path = "/" + name
	return c.String(), func() { _, _ = e.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }, nil
}

// instance migrates dbURL, creates the bench's admin there, and serves it.
func (e *env) instance(ctx context.Context, dbURL, name string) (*instance, error) {
	inst, err := e.prepare(ctx, dbURL, name)
	if err != nil {
		return nil, err
	}
	return inst, inst.serve(dbURL)
}

// prepare migrates dbURL and creates the bench's admin there, without
// serving it yet (a scenario may copy the database first).
func (e *env) prepare(ctx context.Context, dbURL, name string) (*instance, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	envv := append(slices.Clone(e.env), "TREMPLIN_DATABASE_URL="+dbURL, "TREMPLIN_DATA_DIR="+dir)
	inst := &instance{env: envv, bin: e.bin, dir: dir}
	for _, args := range [][]string{{"migrate", "up"}, {"admin", "create", "--email", "bench@tremplin.local", "--password", benchPassword}} {
		cmd := exec.CommandContext(ctx, e.bin, args...)
		cmd.Env = envv
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("tremplin %v: %v\n%s", args, err, out)
		}
	}
	return inst, nil
}

// serve starts `tremplin serve` on dbURL (the prepared database, or a way
// to it) and logs the admin in.
func (inst *instance) serve(dbURL string) error {
	inst.server = exec.Command(inst.bin, "serve", "--addr", "127.0.0.1:0")
	inst.server.Env = append(slices.Clone(inst.env), "TREMPLIN_DATABASE_URL="+dbURL)
	dir := inst.dir
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return err
	}
	inst.server.Stderr = logs
	if inst.base, err = startAndWaitListening(inst.server); err != nil {
		return err
	}
	if inst.token, err = login(inst.base); err != nil {
		inst.stop()
		return err
	}
	return nil
}

func (i *instance) stop() {
	if i.server != nil && i.server.Process != nil {
		_ = i.server.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = i.server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = i.server.Process.Kill()
		}
	}
}
