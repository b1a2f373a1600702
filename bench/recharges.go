package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

const importLines = 1_000_000

// rechargeImport runs `tremplin import-recharges` on a 1,000,000-line operator
// file, beside the floor: what PostgreSQL alone takes to write the same
// cards into the stock's table with its indexes (and, in the note, its own
// COPY of the file into a plain table).
func rechargeImport(ctx context.Context, e *env) (Result, error) {
	db, ids, err := e.withStock(ctx, [2]string{"operator", "Opérateur banc d'essai"})
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	operator := ids[0]
	var product, site int64
	if err := db.QueryRowContext(ctx, `INSERT INTO recharge_products (operator_id, name, face_value_cents, price_cents, low_stock_threshold, active, created_at, updated_at)
		VALUES ($1, 'Recharge 10 €', 1000, 200, 0, true, now(), now()) RETURNING id`, operator).Scan(&product); err != nil {
		return Result{}, fmt.Errorf("seed product: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT id FROM organizations WHERE kind = 'warehouse' LIMIT 1`).Scan(&site); err != nil {
		return Result{}, err
	}
	file := filepath.Join(e.dir, "cards.csv")
	if err := writeCards(file, importLines); err != nil {
		return Result{}, err
	}

	cmd := exec.CommandContext(ctx, e.bin, "import-recharges", "--product", fmt.Sprint(product), "--site", fmt.Sprint(site), file)
	cmd.Env = e.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)
	if err != nil {
		return Result{}, fmt.Errorf("import: %v\n%s", err, out)
	}
	if !regexp.MustCompile(fmt.Sprintf(`Imported %d cards`, importLines)).Match(out) {
		return Result{}, fmt.Errorf("import said: %s", out)
	}
	rssMB := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024

	ref, err := copyReference(ctx, db, file)
	if err != nil {
		return Result{}, err
	}
	floor, err := tableFloor(ctx, db, product)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Value: f64(importLines / elapsed.Seconds()), Unit: "lines/s",
		Reference: "the floor: the same cards written into an empty recharge_units", ReferenceValue: f64(importLines / floor.Seconds()),
		Note: fmt.Sprintf("%d lines in %.1f s (the floor: the imported cards written again into an empty copy of recharge_units, its indexes and checks, %.1f s; COPY of the file into a plain table %.1f s, %.0f lines/s); import peak RSS %.0f MB",
			importLines, elapsed.Seconds(), floor.Seconds(), ref.Seconds(), importLines/ref.Seconds(), rssMB),
	}, nil
}

func writeCards(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "serial,pin,expires_on")
	expires := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	for i := range n {
		fmt.Fprintf(w, "B%011d,%012d,%s\n", i, (i*7919)%1_000_000_000_000, expires)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// tableFloor is what PostgreSQL alone takes to store the imported cards in
// the stock's table: the same rows inserted into an empty copy of
// recharge_units with its indexes and checks, nothing to parse or seal.
func tableFloor(ctx context.Context, db *sql.DB, product int64) (time.Duration, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE units_floor (LIKE recharge_units INCLUDING ALL)`); err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := db.ExecContext(ctx, `INSERT INTO units_floor SELECT * FROM recharge_units WHERE product_id = $1 ORDER BY id`, product); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// copyReference streams the file to COPY ... FROM STDIN (CSV) on one connection.
func copyReference(ctx context.Context, db *sql.DB, path string) (time.Duration, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE plain_cards (serial TEXT, pin TEXT, expires_on TEXT)`); err != nil {
		return 0, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	err = conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, f, `COPY plain_cards FROM STDIN WITH (FORMAT csv, HEADER true)`)
		return err
	})
	return time.Since(start), err
}
