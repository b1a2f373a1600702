// Command tremplin is the one binary: serve, migrate, admin, and the
// operations commands. This package only wires the domains together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

const usage = `Tremplin: donated devices and solidarity recharges.

Usage:
  tremplin serve [--addr 127.0.0.1:8080] [--database URL] [--demo]
  tremplin migrate [up|status] [--database URL]
  tremplin admin create --email E --password P [--name N] [--database URL]
  tremplin admin password --email E [--password P] [--database URL]
  tremplin import-recharges --product ID --site ID FILE.csv [--database URL]
  tremplin keys rotate [--database URL]
  tremplin beneficiaries anonymise --older-than 24mo [--database URL]
  tremplin check [--database URL]
  tremplin backup [--to DIR] [--database URL]
  tremplin restore FILE [--database URL]
  tremplin reports rebuild [--database URL]

--database (or TREMPLIN_DATABASE_URL) is a postgres:// URL or a SQLite file
path; without it Tremplin uses a SQLite file under TREMPLIN_DATA_DIR (./data).
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	env := &cli{stdout: stdout, stderr: stderr, lookup: lookup}
	switch args[0] {
	case "serve":
		return env.serve(ctx, args[1:])
	case "migrate":
		return env.migrate(ctx, args[1:])
	case "admin":
		return env.admin(ctx, args[1:])
	case "import-recharges":
		return env.importRecharges(ctx, args[1:])
	case "keys":
		return env.keys(ctx, args[1:])
	case "beneficiaries":
		return env.beneficiaries(ctx, args[1:])
	case "check":
		return env.check(ctx, args[1:])
	case "backup":
		return env.backup(ctx, args[1:])
	case "restore":
		return env.restore(ctx, args[1:])
	case "reports":
		return env.reports(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tremplin: unknown command %q\n\n%s", args[0], usage)
	return 2
}
