// Package database opens Tremplin's one database, PostgreSQL or the embedded
// SQLite file, with the settings each engine needs, and applies migrations.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tremplin/tremplin/internal/apperr"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Engine names a supported database engine.
type Engine string

const (
	Postgres Engine = "postgres"
	SQLite   Engine = "sqlite"
)

// DB is the one handle every store receives.
type DB struct {
	*gorm.DB
	Engine Engine
	// Where is a description safe to print: the SQLite path, or the PostgreSQL
	// URL without its password.
	Where string
}

// ErrUnreachable is returned by Open when the database cannot be reached.
var ErrUnreachable = errors.New("database unreachable")

// Target is a resolved --database value.
type Target struct {
	Engine Engine
	DSN    string
	Where  string
}

// Resolve turns a --database value into an engine and DSN. An empty value
// means the embedded SQLite file under dataDir.
func Resolve(raw, dataDir string) (Target, error) {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "postgres://") || strings.HasPrefix(raw, "postgresql://") {
		u, err := url.Parse(raw)
		if err != nil {
			// url.Error repeats the URL, password and all: keep only its reason.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return Target{}, fmt.Errorf("the database URL is not a valid URL: %v", err)
		}
		return Target{Engine: Postgres, DSN: raw, Where: Redact(u)}, nil
	}
	if strings.Contains(raw, "://") {
		return Target{}, fmt.Errorf("database %q: only postgres:// URLs or SQLite file paths are supported", raw)
	}
	path := strings.TrimPrefix(raw, "sqlite:")
	if path == "" {
		path = filepath.Join(dataDir, "tremplin.db")
	}
	if strings.ContainsAny(path, "?#") {
		return Target{}, fmt.Errorf("database %q: a SQLite path may not contain ? or #", raw)
	}
	// WAL lets readers run beside the one writer; IMMEDIATE makes a write
	// transaction take the write lock at BEGIN, so a read-then-write transaction
	// waits (busy_timeout) instead of failing with "database is locked".
	dsn := path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(15000)" +
		"&_pragma=synchronous(NORMAL)&_txlock=immediate"
	return Target{Engine: SQLite, DSN: dsn, Where: path}, nil
}

// Redact is a PostgreSQL URL safe to print: the password masked, whether in
// the user-info part or given as ?password= (or ?sslpassword=).
func Redact(u *url.URL) string {
	c := *u
	q := c.Query()
	masked := false
	for _, k := range []string{"password", "sslpassword"} {
		if q.Has(k) {
			q.Set(k, "xxxxx")
			masked = true
		}
	}
	if masked {
		c.RawQuery = q.Encode()
	}
	return c.Redacted()
}

// jitOff asks PostgreSQL not to compile the service's queries (unless the
// URL says otherwise): its statements are short, and JIT compiling one the
// planner thinks large (a count by site and product over a partial index
// estimated at thousands of rows, that finds a handful) cost a page 100 ms
// for a 1 ms query. The setting travels as a connection parameter, so the
// URL given to pg_dump and psql stays as written.
func jitOff(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Query().Has("jit") {
		return dsn
	}
	q := u.Query()
	q.Set("jit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// Open connects to the target and checks that it answers.
func Open(ctx context.Context, t Target) (*DB, error) {
	cfg := &gorm.Config{
		Logger:               logger.Default.LogMode(logger.Silent), // queries may carry secrets
		NowFunc:              Now,
		TranslateError:       true,
		DisableAutomaticPing: true,
	}
	var dialector gorm.Dialector
	switch t.Engine {
	case Postgres:
		dialector = postgres.Open(jitOff(t.DSN))
	case SQLite:
		if err := os.MkdirAll(filepath.Dir(t.Where), 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		// The file holds people's names and the network's accounts: only its
		// owner reads it, even in a folder open to all. SQLite gives its WAL
		// and shared-memory files the database file's mode.
		if f, err := os.OpenFile(t.Where, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		} else if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("create %s: %w", t.Where, err)
		}
		dialector = sqlite.Open(t.DSN)
	default:
		return nil, fmt.Errorf("unknown engine %q", t.Engine)
	}
	gdb, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Where, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.Where, err)
	}
	switch t.Engine {
	case Postgres:
		// Several processes may share the server: keep each pool modest.
		sqlDB.SetMaxOpenConns(24)
		sqlDB.SetMaxIdleConns(24)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(time.Hour)
	case SQLite:
		// One writer at a time anyway; a few connections serve parallel reads.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreachable, t.Where, err)
	}
	return &DB{DB: gdb, Engine: t.Engine, Where: t.Where}, nil
}

// Close releases the pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping tells whether the database answers within the context's deadline.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Now is the clock every row is stamped with: UTC, at the microsecond that
// PostgreSQL keeps, so a value reads back exactly as it was written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// NotFound wraps a lookup's error with context: a missing row becomes
// apperr.ErrNotFound (a 404), any other failure stays what it is (a
// database failure is never a 404).
func NotFound(err error, format string, args ...any) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf(format+": %w", append(args, apperr.ErrNotFound)...)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// InTx runs fn in one transaction.
func (db *DB) InTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.WithContext(ctx).Transaction(fn)
}

// IsUniqueViolation tells whether err comes from a unique constraint: as
// GORM translates it, or straight from pgx (the bulk paths use pgx itself).
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.Is(err, gorm.ErrDuplicatedKey) || (errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation) {
		return true
	}
	// SQLite's own error, where GORM did not translate it (a row read with
	// Row().Scan): SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY.
	var coded interface{ Code() int }
	return errors.As(err, &coded) && (coded.Code() == sqliteConstraintUnique || coded.Code() == sqliteConstraintPrimaryKey)
}

// SQLite's extended result codes for a unique or primary key refused.
const (
	sqliteConstraintUnique     = 2067
	sqliteConstraintPrimaryKey = 1555
)

// IsDeadlock tells whether PostgreSQL broke a deadlock by failing this
// transaction: the work may be tried again.
func IsDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.DeadlockDetected
}

// LockKeys serialises the transactions that name the same keys until tx
// ends: on PostgreSQL with transaction advisory locks (across processes),
// taken in one order so that two transactions never wait on each other; on
// SQLite every write transaction already begins IMMEDIATE, one at a time.
// It is for the counts that must hold under concurrency (attempt limits):
// read, decide and write under the keys' lock.
func (db *DB) LockKeys(tx *gorm.DB, keys ...string) error {
	if db.Engine != Postgres {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", k).Error; err != nil {
			return fmt.Errorf("lock %q: %w", k, err)
		}
	}
	return nil
}
