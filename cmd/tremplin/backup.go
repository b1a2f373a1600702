package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/internal/config"
	"github.com/tremplin/tremplin/internal/database"
)

// backupDir is where backups go: TREMPLIN_BACKUP_DIR, else the data
// folder's backups on the embedded SQLite ("" on PostgreSQL: none daily).
func backupDir(cfg config.Config, engine database.Engine) string {
	if cfg.BackupDir != "" || engine == database.Postgres {
		return cfg.BackupDir
	}
	return filepath.Join(cfg.DataDir, "backups")
}

// keyReminder says where the PINs' key is, since no backup holds it.
func keyReminder(cfg config.Config, engine database.Engine) string {
	where := "TREMPLIN_SECRET_KEY"
	if cfg.SecretKey == "" && engine == database.SQLite {
		where = filepath.Join(cfg.DataDir, "secret.key")
	}
	return "The key that seals recharge PINs is not in the backup: keep " + where +
		" apart from it (a password manager, a sealed envelope), never beside the backup; without it the backup's PINs cannot be read."
}

// backup is `tremplin backup [--to DIR] [--database URL]`.
func (e *cli) backup(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("backup")
	if err != nil {
		return e.fail("%v", err)
	}
	to := fs.String("to", "", "folder to write the backup in (default TREMPLIN_BACKUP_DIR, or TREMPLIN_DATA_DIR/backups on SQLite)")
	if _, code, ok := e.parse(fs, args, 0); !ok {
		return code
	}
	target, err := database.Resolve(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return e.fail("%v", err)
	}
	dir := *to
	if dir == "" {
		dir = backupDir(*cfg, target.Engine)
	}
	if dir == "" {
		return e.fail("where to? give --to DIR, or set TREMPLIN_BACKUP_DIR")
	}
	db, err := openDatabase(ctx, *cfg, false)
	if err != nil {
		return e.fail("%v", err)
	}
	defer db.Close()
	r, err := backup.Take(ctx, db, target, dir, database.Now())
	if err != nil {
		return e.fail("%v", err)
	}
	if err := db.CheckSchema(ctx); err == nil { // an older schema has no table to note it in
		if err := backup.Record(ctx, db, r); err != nil {
			return e.fail("%v", err)
		}
	}
	fmt.Fprintf(e.stdout, "Backup written: %s (%s)\nSHA-256 %s, in %s.sha256\n%s\nRestore it with: tremplin restore %s --database <an empty database>\n",
		r.Path, size(r.Size), r.SHA256, filepath.Base(r.Path), keyReminder(*cfg, target.Engine), r.Path)
	return 0
}

// restore is `tremplin restore FILE [--database URL]`: into an empty
// database only, then migrated and checked.
func (e *cli) restore(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("restore")
	if err != nil {
		return e.fail("%v", err)
	}
	fs.Lookup("database").Usage = "postgres:// URL or SQLite file path (TREMPLIN_DATABASE_URL) to restore into: it must be empty"
	rest, code, ok := e.parse(fs, args, 1)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "usage: tremplin restore FILE [--database URL]")
		return 2
	}
	target, err := database.Resolve(cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return e.fail("%v", err)
	}
	if err := backup.Restore(ctx, rest[0], target); err != nil {
		return e.fail("%v", err)
	}
	db, err := database.Open(ctx, target)
	if err != nil {
		return e.fail("%v", err)
	}
	applied, err := db.Migrate(ctx, nil)
	if err == nil {
		err = backfillFigures(ctx, db)
	}
	db.Close()
	if err != nil {
		return e.fail("the backup is restored into %s but could not be brought up to date: %v", target.Where, err)
	}
	fmt.Fprintf(e.stdout, "Restored %s into %s.\n", rest[0], target.Where)
	if len(applied) > 0 {
		fmt.Fprintf(e.stdout, "The backup was older than this Tremplin: applied %d migration(s) %v.\n", len(applied), applied)
	}
	fmt.Fprintln(e.stdout, "Checking it:")
	return e.checkDatabase(ctx, *cfg)
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// dailyBackups takes the day's backup from 03:00 local time, or a minute
// after the start when the machine was off then, and keeps the last
// cfg.BackupKeep. It looks every ten minutes; a PostgreSQL network with
// several processes notes each backup in the database, so the others see
// it was taken.
func dailyBackups(ctx context.Context, svc *app, target database.Target, dir string, keep int, logger *slog.Logger) {
	if dir == "" {
		return
	}
	// Not at the very start: a serve started for a moment (a check, a
	// test) leaves the folder alone.
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Minute):
	}
	every(ctx, 10*time.Minute, func() {
		if _, err := backupIfDue(ctx, svc.db, target, dir, keep, time.Now()); err != nil && ctx.Err() == nil {
			logger.Warn("the daily backup failed", "error", err.Error(), "folder", dir)
		}
	})
}

// backupIfDue takes a backup when the day's is due at now, and prunes.
func backupIfDue(ctx context.Context, db *database.DB, target database.Target, dir string, keep int, now time.Time) (*backup.Result, error) {
	last, err := backup.Last(ctx, db)
	if err != nil {
		return nil, err
	}
	if !backup.Due(now, last, 3) {
		return nil, nil
	}
	r, err := backup.Take(ctx, db, target, dir, now)
	if err != nil {
		return nil, err
	}
	if err := backup.Record(ctx, db, r); err != nil {
		return nil, err
	}
	if _, err := backup.Prune(dir, keep); err != nil {
		return &r, fmt.Errorf("removing old backups from %s: %w", dir, err)
	}
	return &r, nil
}
