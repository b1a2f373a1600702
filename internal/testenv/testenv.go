// Package testenv gives tests a real database and real HTTP: a migrated SQLite
// file by default, or a fresh PostgreSQL database when
// TREMPLIN_TEST_DATABASE_URL is set (CI sets it). With TREMPLIN_REQUIRE_ALL=1
// (CI), a test whose dependency is missing fails instead of skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for creating test databases

	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/migrations"
)

// RequireAll tells whether missing test dependencies are failures (CI).
func RequireAll() bool { return os.Getenv("TREMPLIN_REQUIRE_ALL") == "1" }

// Missing skips the test for a missing dependency, or fails it in CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatalf("TREMPLIN_REQUIRE_ALL=1 and %s", msg)
	}
	tellTerminal(t.Name(), msg)
	t.Skipf("skipped: %s", msg)
}

// tellTerminal says a skip on the terminal of whoever runs the tests:
// `go test ./...` shows nothing of a package that passes, so a newcomer
// would not learn that part of the suite did not run. (No terminal, as in
// CI, and nothing is said.)
func tellTerminal(test, why string) {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer tty.Close()
	fmt.Fprintf(tty, "  skipped %s: %s\n", test, why)
}

// Engine is the engine the suite runs on.
func Engine() database.Engine {
	if os.Getenv("TREMPLIN_TEST_DATABASE_URL") != "" {
		return database.Postgres
	}
	return database.SQLite
}

// postgresAdminURL is the server tests create their databases on.
func postgresAdminURL() string {
	if u := os.Getenv("TREMPLIN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return os.Getenv("TREMPLIN_TEST_POSTGRES_URL")
}

// DB returns a migrated, empty database of the suite's engine, dropped when
// the test ends.
func DB(t testing.TB) *database.DB {
	t.Helper()
	var target database.Target
	var err error
	if Engine() == database.Postgres {
		target, err = database.Resolve(newPostgresDatabase(t, true), "")
	} else {
		target, err = database.Resolve(filepath.Join(t.TempDir(), "tremplin.db"), "")
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := database.Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if Engine() == database.SQLite {
		if _, err := db.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TargetURL returns a --database value for a fresh, unmigrated database of the
// suite's engine: a PostgreSQL URL or a SQLite path.
func TargetURL(t testing.TB) string {
	t.Helper()
	if Engine() == database.Postgres {
		return newPostgresDatabase(t, false)
	}
	return filepath.Join(t.TempDir(), "tremplin.db")
}

// FreshPostgres returns the URL of a new, empty PostgreSQL database, for the
// tests that are about PostgreSQL itself (advisory locks). It needs
// TREMPLIN_TEST_DATABASE_URL or TREMPLIN_TEST_POSTGRES_URL.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, false)
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// newPostgresDatabase creates a database for one test, cloned from a migrated
// template (made once per schema, shared by every package and run), and drops
// it afterwards.
func newPostgresDatabase(t testing.TB, migrated bool) string {
	t.Helper()
	admin := postgresAdminURL()
	if admin == "" {
		Missing(t, "no PostgreSQL: set TREMPLIN_TEST_DATABASE_URL (or TREMPLIN_TEST_POSTGRES_URL) to e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	}
	conn, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := conn.PingContext(ctx); err != nil {
		Missing(t, "PostgreSQL at %s does not answer: %v", redact(admin), err)
	}
	tmpl := "template0"
	if migrated {
		templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, conn, admin) })
		if templateErr != nil {
			t.Fatal(templateErr)
		}
		tmpl = templateName
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "tremplin_t_" + hex.EncodeToString(b[:])
	if err := createDatabase(ctx, conn, name, tmpl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return withDatabase(admin, name)
}

func createDatabase(ctx context.Context, conn *sql.DB, name, tmpl string) error {
	var err error
	for range 50 {
		_, err = conn.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl)
		// 55006 object_in_use: the template is being cloned by another test.
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != pgerrcode.ObjectInUse {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("create test database %s from %s: %w", name, tmpl, err)
	}
	return nil
}

// ensureTemplate makes (once per migration set, under an advisory lock across
// packages) a database migrated to the current schema to clone tests from.
func ensureTemplate(ctx context.Context, conn *sql.DB, admin string) (string, error) {
	name, err := templateFor()
	if err != nil {
		return "", err
	}
	c, err := conn.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock(7364021)`); err != nil {
		return "", err
	}
	defer c.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7364021)`)
	var exists bool
	if err := c.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_b"
	_, _ = c.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`)
	if _, err := c.ExecContext(ctx, `CREATE DATABASE `+building+` TEMPLATE template0`); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	target, err := database.Resolve(withDatabase(admin, building), "")
	if err != nil {
		return "", err
	}
	db, err := database.Open(ctx, target)
	if err != nil {
		return "", err
	}
	_, merr := db.Migrate(ctx, nil)
	_ = db.Close()
	if merr != nil {
		return "", fmt.Errorf("migrate template: %w", merr)
	}
	if _, err := c.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

// templateFor names the template after a hash of the migrations, so a changed
// schema gets a new template.
func templateFor() (string, error) {
	fsys, err := migrations.For("postgres")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	return "tremplin_tpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// Open opens a --database value (a PostgreSQL URL or a SQLite path; empty
// means the embedded file under dataDir) as the service would, closed when
// the test ends. It does not migrate.
func Open(t testing.TB, raw, dataDir string) *database.DB {
	t.Helper()
	target, err := database.Resolve(raw, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
