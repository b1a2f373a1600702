package main

import (
	"context"
	"fmt"

	"github.com/tremplin/tremplin/internal/config"
	"github.com/tremplin/tremplin/internal/invariant"
)

// check is `tremplin check`: it verifies the database's invariants, prints
// each breach and exits non-zero on any.
func (e *cli) check(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("check")
	if err != nil {
		return e.fail("%v", err)
	}
	if _, code, ok := e.parse(fs, args, 0); !ok {
		return code
	}
	return e.checkDatabase(ctx, *cfg)
}

// checkDatabase runs every rule on cfg's database.
func (e *cli) checkDatabase(ctx context.Context, cfg config.Config) int {
	svc, closeDB, code := e.openServices(ctx, cfg, false)
	if svc == nil {
		return code
	}
	defer closeDB()
	var breaches []invariant.Breach
	checks := []func(context.Context) ([]invariant.Breach, error){svc.inventory.Check, svc.recharges.Check, svc.accessories.Check, svc.distribution.Check,
		func(ctx context.Context) ([]invariant.Breach, error) { return checkFigures(ctx, svc.db) }}
	for _, check := range checks {
		more, err := check(ctx)
		if err != nil {
			return e.fail("%v", err)
		}
		breaches = append(breaches, more...)
	}
	for _, b := range breaches {
		fmt.Fprintf(e.stdout, "breach %s: %s\n", b.Rule, b.Detail)
	}
	if len(breaches) > 0 {
		fmt.Fprintf(e.stdout, "%d breach(es).\n", len(breaches))
		return 1
	}
	fmt.Fprintln(e.stdout, "All invariants hold.")
	return 0
}
