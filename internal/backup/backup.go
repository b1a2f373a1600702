// Package backup takes consistent copies of Tremplin's database while it
// serves, and restores them into an empty database. SQLite is copied with
// its own online backup (VACUUM INTO: one read transaction, never a copy of
// a live file); PostgreSQL with pg_dump in its custom format. Each copy has
// its SHA-256 beside it (FILE.sha256, as sha256sum writes it), and a
// restore refuses a file whose hash does not match. The secret key that
// seals the recharge PINs is never in a backup.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "github.com/glebarez/go-sqlite"  // database/sql driver "sqlite", to look into a file before restoring it
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/tremplin/tremplin/internal/database"
)

// Extensions of the two kinds of copies.
const (
	sqliteExt   = ".db"
	postgresExt = ".dump"
	hashExt     = ".sha256"
	prefix      = "tremplin-"
)

// Result is a copy taken.
type Result struct {
	Path    string
	SHA256  string
	Size    int64
	TakenAt time.Time
}

// ErrNotEmpty refuses a restore into a database that holds tables.
var ErrNotEmpty = errors.New("the database to restore into is not empty")

// ErrHash refuses a copy whose SHA-256 does not match the one beside it.
var ErrHash = errors.New("the backup's SHA-256 does not match")

// Name is the file name of a copy taken at an instant: its time in UTC, so
// that names sort as the copies were taken.
func Name(engine database.Engine, at time.Time) string {
	ext := sqliteExt
	if engine == database.Postgres {
		ext = postgresExt
	}
	return prefix + at.UTC().Format("20060102T150405Z") + ext
}

// Take writes a consistent copy of the database into dir, then its hash.
// Only the owner reads them: they hold people's names and the accounts.
func Take(ctx context.Context, db *database.DB, t database.Target, dir string, at time.Time) (Result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Result{}, fmt.Errorf("backup folder: %w", err)
	}
	final := filepath.Join(dir, Name(t.Engine, at))
	if _, err := os.Stat(final); err == nil {
		return Result{}, fmt.Errorf("%s already exists: one backup per second", final)
	}
	tmp := final + ".part"
	_ = os.Remove(tmp) // a copy cut short before
	var err error
	switch t.Engine {
	case database.SQLite:
		// VACUUM INTO reads the database in one transaction: what was
		// committed when it began, whatever is written meanwhile.
		err = db.WithContext(ctx).Exec(`VACUUM INTO ?`, tmp).Error
		if err == nil {
			err = os.Chmod(tmp, 0o600)
		}
	case database.Postgres:
		err = pgDump(ctx, t.DSN, tmp)
	default:
		err = fmt.Errorf("unknown engine %q", t.Engine)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return Result{}, fmt.Errorf("backup of %s: %w", t.Where, err)
	}
	sum, size, err := hashFile(tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return Result{}, fmt.Errorf("backup of %s: %w", t.Where, err)
	}
	line := sum + "  " + filepath.Base(final) + "\n"
	if err := os.WriteFile(final+hashExt, []byte(line), 0o600); err != nil {
		return Result{}, fmt.Errorf("backup's hash: %w", err)
	}
	return Result{Path: final, SHA256: sum, Size: size, TakenAt: at}, nil
}

// Verify checks a copy against the SHA-256 written beside it.
func Verify(path string) (string, error) {
	want, err := os.ReadFile(path + hashExt)
	if err != nil {
		return "", fmt.Errorf("%s: no hash beside it (%s%s): %w", path, filepath.Base(path), hashExt, err)
	}
	fields := strings.Fields(string(want))
	if len(fields) == 0 || len(fields[0]) != 64 {
		return "", fmt.Errorf("%s%s does not hold a SHA-256", path, hashExt)
	}
	got, _, err := hashFile(path)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(got, fields[0]) {
		return "", fmt.Errorf("%w: %s is %s, %s%s says %s (a damaged or altered copy)", ErrHash, path, got, filepath.Base(path), hashExt, fields[0])
	}
	return got, nil
}

// Restore verifies the copy and writes it into the target, which must be
// empty (a missing SQLite file, or a PostgreSQL database without tables).
// The caller then migrates it and runs the check.
func Restore(ctx context.Context, path string, t database.Target) error {
	if _, err := Verify(path); err != nil {
		return err
	}
	kind := database.SQLite
	if strings.HasSuffix(path, postgresExt) {
		kind = database.Postgres
	} else if !strings.HasSuffix(path, sqliteExt) {
		return fmt.Errorf("%s: a backup ends in %s (SQLite) or %s (PostgreSQL)", path, sqliteExt, postgresExt)
	}
	if kind != t.Engine {
		return fmt.Errorf("%s is a %s backup and the database to restore into is %s: restore it into a %s database", path, kind, t.Engine, kind)
	}
	if err := ensureEmpty(ctx, t); err != nil {
		return err
	}
	switch t.Engine {
	case database.SQLite:
		return copySQLite(path, t.Where)
	default:
		return pgRestore(ctx, t.DSN, path)
	}
}

// ensureEmpty refuses a target that holds any table.
func ensureEmpty(ctx context.Context, t database.Target) error {
	driver, dsn := "pgx", t.DSN
	if t.Engine == database.SQLite {
		st, err := os.Stat(t.Where)
		if errors.Is(err, os.ErrNotExist) || (err == nil && st.Size() == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		driver, dsn = "sqlite", t.Where
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("open %s: %w", t.Where, err)
	}
	defer conn.Close()
	q := `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`
	if t.Engine == database.SQLite {
		q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
	}
	var n int
	if err := conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return fmt.Errorf("%w: %s: %v", database.ErrUnreachable, t.Where, err)
	}
	if n > 0 {
		return fmt.Errorf("%w: %s holds %d table(s); restore into a new, empty database (nothing was changed)", ErrNotEmpty, t.Where, n)
	}
	return nil
}

// copySQLite puts the copy in place under a temporary name first, so that
// a restore cut short leaves no half database where Tremplin looks.
func copySQLite(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o750); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".restoring"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		for _, side := range []string{"-wal", "-shm"} { // an empty file's leftovers
			_ = os.Remove(to + side)
		}
		err = os.Rename(tmp, to)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("restore into %s: %w", to, err)
	}
	return nil
}

// Prune keeps the newest keep copies in dir (with their hashes) and
// removes the others; it returns what it removed.
func Prune(dir string, keep int) ([]string, error) {
	list, err := List(dir)
	if err != nil || len(list) <= keep {
		return nil, err
	}
	var gone []string
	for _, p := range list[:len(list)-keep] {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return gone, err
		}
		_ = os.Remove(p + hashExt)
		gone = append(gone, p)
	}
	return gone, nil
}

// List is the copies in dir, oldest first.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, prefix) && (strings.HasSuffix(n, sqliteExt) || strings.HasSuffix(n, postgresExt)) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// libpq takes the URL; its password goes in the environment, not on the
// command line that any user of the machine can list.
func libpq(dsn string) (string, []string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("the database URL is not a valid URL")
	}
	env := os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if pw := q.Get("password"); pw != "" {
		env = append(env, "PGPASSWORD="+pw)
		q.Del("password")
	}
	for k := range q { // pgx's own settings mean nothing to libpq
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), env, nil
}

func pgDump(ctx context.Context, dsn, to string) error {
	conn, env, err := libpq(dsn)
	if err != nil {
		return err
	}
	return runTool(ctx, env, "pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file="+to, "--dbname="+conn)
}

func pgRestore(ctx context.Context, dsn, from string) error {
	conn, env, err := libpq(dsn)
	if err != nil {
		return err
	}
	// One transaction: a restore that fails leaves the database empty.
	return runTool(ctx, env, "pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname="+conn, from)
}

func runTool(ctx context.Context, env []string, tool string, args ...string) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%s is not installed: it comes with PostgreSQL's client (Debian: apt-get install postgresql-client)", tool)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", tool, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Record notes a copy in the database, for the admin's page.
func Record(ctx context.Context, db *database.DB, r Result) error {
	if err := db.WithContext(ctx).Exec(`INSERT INTO backups (file, sha256, size_bytes, taken_at) VALUES (?, ?, ?, ?)`,
		filepath.Base(r.Path), r.SHA256, r.Size, r.TakenAt.UTC()).Error; err != nil {
		return fmt.Errorf("record the backup: %w", err)
	}
	return nil
}

// Last is when the last recorded copy was taken (zero: none).
func Last(ctx context.Context, db *database.DB) (time.Time, error) {
	var at []time.Time
	if err := db.WithContext(ctx).Raw(`SELECT taken_at FROM backups ORDER BY taken_at DESC LIMIT 1`).Scan(&at).Error; err != nil {
		return time.Time{}, fmt.Errorf("last backup: %w", err)
	}
	if len(at) == 0 {
		return time.Time{}, nil
	}
	return at[0], nil
}

// Due tells whether the day's copy is to be taken at now: from hour
// o'clock (local time) on, once a day. A machine off at that hour, such as
// a space's laptop at night, takes it when it next runs.
func Due(now, last time.Time, hour int) bool {
	today := time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, now.Location())
	if now.Before(today) {
		today = today.AddDate(0, 0, -1)
	}
	return last.Before(today)
}
