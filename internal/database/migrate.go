package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/tremplin/tremplin/migrations"
)

// ErrSchemaTooNew means the database was migrated by a newer Tremplin: this
// binary does not know its tables and must not write to them.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// ErrSchemaPending means migrations are waiting; `tremplin migrate up` applies them.
var ErrSchemaPending = errors.New("database schema has pending migrations")

func (db *DB) provider(logger *slog.Logger) (*goose.Provider, error) {
	fsys, err := migrations.For(string(db.Engine))
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	dialect := goose.DialectSQLite3
	if db.Engine == Postgres {
		dialect = goose.DialectPostgres
		// A session advisory lock: processes started together migrate once,
		// the others wait and then find nothing pending.
		// Waiters retry every second, for up to ten minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, sqlDB, fsys, opts...)
}

// Versions returns the schema version in the database and the newest this
// binary knows.
func (db *DB) Versions(ctx context.Context) (current, known int64, err error) {
	p, err := db.provider(nil)
	if err != nil {
		return 0, 0, err
	}
	current, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	sources := p.ListSources()
	if len(sources) > 0 {
		known = sources[len(sources)-1].Version
	}
	return current, known, nil
}

// Migrate applies pending migrations and returns the versions it applied. It
// refuses a schema newer than the binary.
func (db *DB) Migrate(ctx context.Context, logger *slog.Logger) ([]int64, error) {
	current, known, err := db.Versions(ctx)
	if err != nil {
		return nil, err
	}
	if current > known {
		return nil, fmt.Errorf("%w: database is at version %d, this binary knows up to %d; run a newer tremplin",
			ErrSchemaTooNew, current, known)
	}
	p, err := db.provider(logger)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// MigrationState is one migration as `tremplin migrate status` shows it.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
	At      string
}

// Status lists every known migration and whether it is applied.
func (db *DB) Status(ctx context.Context) ([]MigrationState, error) {
	p, err := db.provider(nil)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		m := MigrationState{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied}
		if m.Applied {
			m.At = s.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		out = append(out, m)
	}
	return out, nil
}

// CheckSchema returns nil when the database is exactly at the binary's
// version, and a clear error otherwise.
func (db *DB) CheckSchema(ctx context.Context) error {
	current, known, err := db.Versions(ctx)
	if err != nil {
		return err
	}
	switch {
	case current > known:
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d", ErrSchemaTooNew, current, known)
	case current < known:
		return fmt.Errorf("%w: database is at version %d, this binary needs %d", ErrSchemaPending, current, known)
	}
	return nil
}
