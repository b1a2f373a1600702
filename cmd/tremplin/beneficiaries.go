package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/audit"
)

// beneficiaries is `tremplin beneficiaries anonymise --older-than 24m`.
func (e *cli) beneficiaries(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "anonymise" {
		return e.fail("usage: tremplin beneficiaries anonymise --older-than 24m [--database URL]")
	}
	cfg, fs, err := e.command("beneficiaries anonymise")
	if err != nil {
		return e.fail("%v", err)
	}
	age := fs.String("older-than", cfg.AnonymiseAfter, "no activity for this long: 24mo (months), 2y (years) or 90d (days)")
	if _, code, ok := e.parse(fs, args[1:], 0); !ok {
		return code
	}
	y, m, d, err := distribution.ParseAge(*age)
	if err != nil {
		return e.fail("--older-than %v", err)
	}
	svc, closeDB, code := e.openServices(ctx, *cfg, false)
	if svc == nil {
		return code
	}
	defer closeDB()
	before := time.Now().UTC().AddDate(-y, -m, -d)
	ctx = audit.WithActor(ctx, audit.Actor{IP: "command line", RequestID: "cli"})
	n, err := svc.distribution.Anonymise(ctx, before)
	if err != nil {
		return e.fail("%v", err)
	}
	fmt.Fprintf(e.stdout, "%d beneficiaries with no activity since %s anonymised.\n", n, before.Format(time.DateOnly))
	return 0
}

// anonymiseDaily drops the names of inactive beneficiaries once a day.
func anonymiseDaily(ctx context.Context, svc *app, after string, logger *slog.Logger) {
	y, m, d, err := distribution.ParseAge(after)
	if err != nil {
		logger.Error("anonymisation disabled", "error", err.Error())
		return
	}
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		n, err := svc.distribution.Anonymise(ctx, time.Now().UTC().AddDate(-y, -m, -d))
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("anonymisation failed", "error", err.Error())
		case n > 0:
			logger.Info("beneficiaries anonymised", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
