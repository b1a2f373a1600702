package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tremplin/tremplin/demo"
	"github.com/tremplin/tremplin/figures"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/logbuf"
	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/partners"
)

func (e *cli) serve(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("serve")
	if err != nil {
		return e.fail("%v", err)
	}
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (TREMPLIN_ADDR)")
	withDemo := fs.Bool("demo", false, "fill an empty database with a small demo network")
	if _, code, ok := e.parse(fs, args, 0); !ok {
		return code
	}
	logger := e.logger(*cfg)

	db, err := openDatabase(ctx, *cfg, true)
	if err != nil {
		return e.fail("%v", err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		return e.fail("%v", err)
	}
	if err := backfillFigures(ctx, db); err != nil {
		return e.fail("%v", err)
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "versions", applied, "database", db.Where)
	}
	keys, err := loadKeys(*cfg, db.Engine, e.stdout)
	if err != nil {
		return e.fail("%v", err)
	}
	svc, err := newServices(*cfg, db, keys)
	if err != nil {
		return e.fail("%v", err)
	}

	// Listen before making the first admin: a busy port must not leave an
	// account whose password was printed to a server that never ran.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return e.fail("cannot listen on %s: %v (is another tremplin running? choose another --addr)", cfg.Addr, err)
	}
	defer ln.Close()
	if *withDemo {
		net, err := demo.Seed(ctx, demo.Services{Partners: svc.partners, Recharges: svc.recharges, Accessories: svc.accessories, Inventory: svc.inventory, Distribution: svc.distribution})
		if errors.Is(err, partners.ErrNotEmpty) {
			return e.fail("%v\n  the demo network (or other data) is already there: start again without --demo,"+
				" or move the data folder (%s) away to start a new demo", err, cfg.DataDir)
		}
		if err != nil {
			return e.fail("demo data: %v", err)
		}
		fmt.Fprintln(e.stdout, "Demo network created. Accounts (passwords are shown only now):")
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		does := map[partners.Role]string{
			partners.RoleAdmin:      "sets up the network: organisations, users, products, prices; reads the reports",
			partners.RoleWarehouse:  "registers donated devices, labels, diagnoses, erases, prices and ships them",
			partners.RoleSpace:      "checks vouchers, sells devices and recharges, receives transfers, closes the day",
			partners.RolePrescriber: "records the people it refers and issues their vouchers",
		}
		for _, a := range net.Accounts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.Role, a.Email, a.Password, a.Organization, does[a.Role])
		}
		tw.Flush()
		fmt.Fprintln(e.stdout, "Demo vouchers to try at the counter:")
		for _, c := range net.Vouchers {
			fmt.Fprintln(e.stdout, "  "+c)
		}
		fmt.Fprintln(e.stdout, "Demo devices to scan:")
		for _, d := range net.Devices {
			fmt.Fprintln(e.stdout, "  "+d)
		}
		fmt.Fprintln(e.stdout, "Next time, start without --demo: the demo network stays in the database.")
	} else {
		pw, err := svc.partners.EnsureFirstAdmin(ctx, cfg.AdminEmail)
		if err != nil {
			return e.fail("%v", err)
		}
		if pw != "" {
			fmt.Fprintf(e.stdout, "First start: an admin account was created.\n  email:    %s\n  password: %s\n"+
				"This password is shown only once. To set another one (or if it is lost):\n"+
				"  tremplin admin password --email %s\n", cfg.AdminEmail, pw, cfg.AdminEmail)
		}
	}

	// Serving, a line per request goes out in batches (a warning at once).
	logs := logbuf.New(e.stderr, 100*time.Millisecond)
	defer logs.Close()
	logger = slog.New(logbuf.Handler(logHandler(*cfg, logs), logs, slog.LevelWarn))

	metrics := httpx.NewMetrics()
	_, handler, err := newRouter(*cfg, svc, logger, metrics)
	if err != nil {
		return e.fail("%v", err)
	}
	go sweepExpired(ctx, svc, logger)
	go expireReservations(ctx, svc, logger)
	go sendMessages(ctx, svc, logger)
	go foldFigures(ctx, svc, logger)
	go anonymiseDaily(ctx, svc, cfg.AnonymiseAfter, logger)
	// A backup cut short by a stop is removed before serve returns.
	jobs, stopJobs := context.WithCancel(ctx)
	var waitJobs sync.WaitGroup
	defer waitJobs.Wait()
	defer stopJobs()
	if target, err := database.Resolve(cfg.DatabaseURL, cfg.DataDir); err == nil {
		waitJobs.Go(func() { dailyBackups(jobs, svc, target, backupDir(*cfg, db.Engine), cfg.BackupKeep, logger) })
	}
	fmt.Fprintf(e.stdout, "Tremplin is listening on http://%s (database: %s %s)\n", ln.Addr(), db.Engine, db.Where)
	logger.Info("serving", "addr", ln.Addr().String(), "engine", string(db.Engine))
	if err := httpx.Serve(ctx, ln, handler, cfg.ShutdownTimeout, logger); err != nil {
		_ = logs.Close() // the lines before the failure, before it
		return e.fail("server: %v", err)
	}
	return 0
}

func (e *cli) migrate(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("migrate")
	if err != nil {
		return e.fail("%v", err)
	}
	fs.Usage = func() { fmt.Fprintln(e.stderr, "usage: tremplin migrate [up|status] [--database URL]") }
	// Accept the flag before or after the verb.
	verb := "up"
	if len(args) > 0 && (args[0] == "up" || args[0] == "status") {
		verb, args = args[0], args[1:]
	}
	rest, code, ok := e.parse(fs, args, 1)
	if !ok {
		return code
	}
	if len(rest) == 1 {
		verb = rest[0]
	}
	if verb != "up" && verb != "status" {
		fs.Usage()
		return e.fail("unknown migrate action %q (use up or status)", verb)
	}
	db, err := openDatabase(ctx, *cfg, verb == "up")
	if err != nil {
		return e.fail("%v", err)
	}
	defer db.Close()
	if verb == "status" {
		return e.migrateStatus(ctx, db)
	}
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		return e.fail("%v", err)
	}
	if err := backfillFigures(ctx, db); err != nil {
		return e.fail("%v", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(e.stdout, "Database %s is up to date.\n", db.Where)
		return 0
	}
	fmt.Fprintf(e.stdout, "Applied %d migration(s) to %s: %v\n", len(applied), db.Where, applied)
	return 0
}

func (e *cli) migrateStatus(ctx context.Context, db *database.DB) int {
	states, err := db.Status(ctx)
	if err != nil {
		return e.fail("%v", err)
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIGRATION\tAPPLIED")
	for _, s := range states {
		at := "pending"
		if s.Applied {
			at = s.At
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, at)
	}
	tw.Flush()
	if err := db.CheckSchema(ctx); err != nil {
		fmt.Fprintf(e.stdout, "%v\n", err)
		if errors.Is(err, database.ErrSchemaTooNew) {
			return 1
		}
	}
	return 0
}

func (e *cli) admin(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == "password" {
		return e.adminPassword(ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "create" {
		return e.fail("usage: tremplin admin create --email E --password P [--name N] [--database URL]\n" +
			"       tremplin admin password --email E [--password P] [--database URL]")
	}
	cfg, fs, err := e.command("admin create")
	if err != nil {
		return e.fail("%v", err)
	}
	email := fs.String("email", "", "the admin's email (required)")
	password := fs.String("password", "", "at least 10 characters (required)")
	name := fs.String("name", "", "the admin's name")
	if _, code, ok := e.parse(fs, args[1:], 0); !ok {
		return code
	}
	if *email == "" || *password == "" {
		fmt.Fprintln(e.stderr, "tremplin: --email and --password are required")
		fs.Usage()
		return 2
	}
	svc, closeDB, code := e.openServices(ctx, *cfg, false)
	if svc == nil {
		return code
	}
	defer closeDB()
	u, err := svc.partners.CreateAdmin(ctx, *email, *password, *name)
	if err != nil {
		return e.fail("cannot create admin: %v", err)
	}
	fmt.Fprintf(e.stdout, "Admin %s created (id %d).\n", u.Email, u.ID)
	return 0
}

// adminPassword is `tremplin admin password --email E [--password P]`: a new
// password for an account, generated and shown once unless given.
func (e *cli) adminPassword(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("admin password")
	if err != nil {
		return e.fail("%v", err)
	}
	email := fs.String("email", "", "the account's email (required)")
	password := fs.String("password", "", "the new password, at least 10 characters (default: a generated one, shown once)")
	if _, code, ok := e.parse(fs, args, 0); !ok {
		return code
	}
	if *email == "" {
		fmt.Fprintln(e.stderr, "tremplin admin password: missing --email (the account whose password to set)")
		fs.Usage()
		return 2
	}
	svc, closeDB, code := e.openServices(ctx, *cfg, false)
	if svc == nil {
		return code
	}
	defer closeDB()
	u, pw, err := svc.partners.SetPassword(ctx, *email, *password)
	if err != nil {
		return e.fail("cannot set the password: %v", err)
	}
	if *password == "" {
		fmt.Fprintf(e.stdout, "New password for %s (shown only now): %s\nEvery session of this account was closed.\n", u.Email, pw)
	} else {
		fmt.Fprintf(e.stdout, "Password of %s changed. Every session of this account was closed.\n", u.Email)
	}
	return 0
}

// foldFigures adds the figures' deltas to the figures every second, so that
// reports read few of them (PostgreSQL; SQLite writes none). A database
// that stops answering is said once, and again when it answers.
func foldFigures(ctx context.Context, svc *app, logger *slog.Logger) {
	if svc.db.Engine != database.Postgres {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := figures.Fold(ctx, svc.db.DB)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			logger.Warn("folding the figures failed; reports stay exact, and slower until it works", "error", err.Error())
		case err == nil && failing:
			failing = false
			logger.Info("folding the figures works again")
		}
	}
}

// every runs job now and then every period until ctx ends.
func every(ctx context.Context, period time.Duration, job func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		job()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expireReservations ends the reservations whose time is over, at start
// and then every minute, and queues the reminders due. A device is free
// from its reservation's end whether or not this has run (every check
// compares the time); this keeps the lists true. One idempotent update:
// several processes may run it.
func expireReservations(ctx context.Context, svc *app, logger *slog.Logger) {
	every(ctx, time.Minute, func() {
		n, err := svc.distribution.ExpireReservations(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("ending reservations failed", "error", err.Error())
		case n > 0:
			logger.Info("reservations ended", "reservations", n)
		}
		// Two days before a voucher or a reservation ends, its reminder.
		if len(svc.senders) > 0 {
			if r, err := svc.distribution.RemindEnding(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("queueing reminders failed", "error", err.Error())
			} else if r > 0 {
				logger.Info("reminders queued", "messages", r)
			}
		}
	})
}

// sendMessages sends the messages queued for people every few seconds (a
// message queued waits at most that long). Several processes may run it:
// each message is claimed before it is sent.
func sendMessages(ctx context.Context, svc *app, logger *slog.Logger) {
	if len(svc.senders) == 0 {
		return // nothing can be queued without a way to send
	}
	w := &notify.Worker{DB: svc.db.DB, Senders: svc.senders}
	failing := false
	every(ctx, 5*time.Second, func() {
		_, err := w.Tick(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			logger.Warn("sending messages failed; they wait in the queue", "error", err.Error())
		case err == nil && failing:
			failing = false
			logger.Info("sending messages works again")
		}
	})
}

// sweepExpired marks recharge cards past their date as expired, at start and
// then every hour (the sweep is idempotent, so several processes may run it).
func sweepExpired(ctx context.Context, svc *app, logger *slog.Logger) {
	every(ctx, time.Hour, func() {
		n, err := svc.recharges.SweepExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("expiry sweep failed", "error", err.Error())
		case n > 0:
			logger.Info("expired recharge cards", "units", n)
		}
	})
}
