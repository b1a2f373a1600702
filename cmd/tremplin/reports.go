package main

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/invariant"
)

// reports is `tremplin reports rebuild`: it recomputes the per-day figures
// from the events, sales and vouchers (after a restore, or to mend what
// `tremplin check` found).
func (e *cli) reports(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "rebuild" {
		return e.fail("usage: tremplin reports rebuild [--database URL]")
	}
	cfg, fs, err := e.command("reports rebuild")
	if err != nil {
		return e.fail("%v", err)
	}
	if _, code, ok := e.parse(fs, args[1:], 0); !ok {
		return code
	}
	db, err := openDatabase(ctx, *cfg, false)
	if err != nil {
		return e.fail("%v", err)
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		return e.fail("%v", err)
	}
	n, err := figures.Rebuild(ctx, db.DB)
	if err != nil {
		return e.fail("%v", err)
	}
	fmt.Fprintf(e.stdout, "Figures rebuilt from the history: %d rows.\n", n)
	return 0
}

// backfillFigures rebuilds the figures once after the migration that made
// them, on a database that already had a history.
func backfillFigures(ctx context.Context, db *database.DB) error {
	if _, err := figures.RebuildIfPending(ctx, db.DB); err != nil {
		return fmt.Errorf("backfill the report figures: %w", err)
	}
	return nil
}

// checkFigures is the figures' invariant: each equals its recount.
func checkFigures(ctx context.Context, db *database.DB) ([]invariant.Breach, error) {
	stored, err := figures.Stored(ctx, db.DB)
	if err != nil {
		return nil, err
	}
	counted, err := figures.Recount(ctx, db.DB)
	if err != nil {
		return nil, err
	}
	var out []invariant.Breach
	for _, d := range figures.Compare(stored, counted, 20) {
		out = append(out, invariant.Breach{Rule: "report figures equal a recount (tremplin reports rebuild mends them)", Detail: d})
	}
	return out, nil
}
