package reports_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/backup"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/partners"
	"github.com/tremplin/tremplin/reports"
)

// TestBackupsAreWatched: the admin's page says when none was taken, when
// the last is more than two days old, and when it is recent; only admins
// are told.
func TestBackupsAreWatched(t *testing.T) {
	db := testenv.DB(t)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	svc := &reports.Service{DB: db, Now: func() time.Time { return now }}
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	state := func() reports.BackupState {
		t.Helper()
		s, err := svc.Backups(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); !s.None || !s.Stale {
		t.Fatalf("no backup yet: %+v", s)
	}
	record := func(at time.Time) {
		if err := backup.Record(ctx, db, backup.Result{Path: "/b/" + at.Format(time.RFC3339), SHA256: "00", Size: 1, TakenAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	record(now.Add(-49 * time.Hour))
	if s := state(); s.None || !s.Stale || !s.Last.Equal(now.Add(-49*time.Hour)) {
		t.Fatalf("a backup of 49 hours ago: %+v", s)
	}
	record(now.Add(-7 * time.Hour))
	if s := state(); s.None || s.Stale || !s.Last.Equal(now.Add(-7*time.Hour)) {
		t.Fatalf("a backup of this morning: %+v", s)
	}
	if _, err := svc.Backups(ctx, partners.Caller{Role: partners.RoleSpace}); !errors.Is(err, apperr.ErrForbidden) {
		t.Fatalf("a space is told about backups: %v", err)
	}
}
