package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/partners"
)

// importRecharges is `tremplin import-recharges --product ID --site ID FILE.csv`:
// the same code as POST /api/v1/recharge-batches, with progress shown.
func (e *cli) importRecharges(ctx context.Context, args []string) int {
	cfg, fs, err := e.command("import-recharges")
	if err != nil {
		return e.fail("%v", err)
	}
	product := fs.Int64("product", 0, "recharge product id (required)")
	site := fs.Int64("site", 0, "site id the cards arrive at (required)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: tremplin import-recharges --product ID --site ID FILE.csv")
		fs.PrintDefaults()
	}
	// Flags may come before or after the file.
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	var file string
	if len(rest) > 0 {
		file = rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return 2
		}
	}
	var missing []string
	if *product <= 0 {
		missing = append(missing, "--product ID (the recharge product's id)")
	}
	if *site <= 0 {
		missing = append(missing, "--site ID (the warehouse or space the cards arrive at)")
	}
	if file == "" {
		missing = append(missing, "the operator's CSV file")
	}
	if len(missing) > 0 || fs.NArg() > 0 {
		for _, m := range missing {
			fmt.Fprintf(e.stderr, "tremplin import-recharges: missing %s\n", m)
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(e.stderr, "tremplin import-recharges: one file at a time, not %q too\n", fs.Args())
		}
		fs.Usage()
		return 2
	}
	f, err := os.Open(file)
	if err != nil {
		return e.fail("%v", err)
	}
	defer f.Close()
	st, _ := f.Stat()

	svc, closeDB, code := e.openServices(ctx, *cfg, true)
	if svc == nil {
		return code
	}
	defer closeDB()

	var in io.Reader = f
	progress := func(lines int) {}
	if out, ok := e.stdout.(*os.File); ok && isatty.IsTerminal(out.Fd()) && st != nil {
		bar := progressbar.DefaultBytes(st.Size(), "import")
		in = io.TeeReader(f, bar)
		defer bar.Finish()
	} else {
		progress = func(lines int) {
			if lines%100000 == 0 {
				fmt.Fprintf(e.stdout, "%d lines read\n", lines)
			}
		}
	}
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	ctx = audit.WithActor(ctx, audit.Actor{IP: "command line (" + who + ")", RequestID: "cli"})
	res, err := svc.recharges.Import(ctx, partners.Caller{Role: partners.RoleAdmin}, *product, *site, in, progress)
	if err != nil {
		return e.fail("nothing imported: %v", err)
	}
	fmt.Fprintf(e.stdout, "Imported %d cards as batch %d (file SHA-256 %s).\n", res.Imported, res.ID, res.SHA256)
	return 0
}

// keys is `tremplin keys rotate`: re-seal every PIN under the current key.
func (e *cli) keys(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] != "rotate" {
		return e.fail("usage: tremplin keys rotate [--database URL]  (set TREMPLIN_SECRET_KEY to the new key and TREMPLIN_SECRET_KEY_PREVIOUS to the old ones)")
	}
	cfg, fs, err := e.command("keys rotate")
	if err != nil {
		return e.fail("%v", err)
	}
	if _, code, ok := e.parse(fs, args[1:], 0); !ok {
		return code
	}
	svc, closeDB, code := e.openServices(ctx, *cfg, true)
	if svc == nil {
		return code
	}
	defer closeDB()
	ctx = audit.WithActor(ctx, audit.Actor{IP: "command line", RequestID: "cli"})
	n, err := svc.recharges.RotateKeys(ctx, nil)
	if err != nil {
		return e.fail("%d PINs re-sealed, then: %v", n, err)
	}
	fmt.Fprintf(e.stdout, "%d PINs re-sealed under the current key.\n", n)
	return 0
}
