package recharges

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/csvfile"
	"github.com/tremplin/tremplin/internal/database"
	"github.com/tremplin/tremplin/partners"
)

// ImportResult is what a recharge import stored.
type ImportResult struct {
	ID        int64  `json:"id"`
	ProductID int64  `json:"product_id"`
	SiteID    int64  `json:"site_id"`
	Imported  int    `json:"imported"`
	SHA256    string `json:"sha256"`
}

// maxReportedLines bounds the errors listed for one file: past it, the answer
// says how many more lines are bad.
const maxReportedLines = 1000

// Import stores the cards of an operator file (header
// serial,pin,expires_on) at a site: all or nothing. It streams the file: lines
// are checked and sealed one by one into a staging table (COPY on
// PostgreSQL, batched inserts on SQLite), duplicates are found in SQL, and
// the units are inserted from the staging table in the same transaction.
// progress, when not nil, is told the number of lines read now and then.
func (s *Service) Import(ctx context.Context, c partners.Caller, productID, siteID int64, r io.Reader, progress func(lines int)) (ImportResult, error) {
	if err := c.Require(warehouseRoles...); err != nil {
		return ImportResult{}, err
	}
	v := &apperr.ValidationError{}
	var product Product
	if productID == 0 {
		v.Field("product_id", "is required")
	} else if err := s.db.WithContext(ctx).Where("id = ?", productID).Take(&product).Error; err != nil {
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return ImportResult{}, fmt.Errorf("recharge product %d: %w", productID, err)
		}
		v.Field("product_id", "no recharge product %d", productID)
	} else if !product.Active {
		v.Field("product_id", "product %q is no longer sold", product.Name)
	}
	var site partners.Organization
	if siteID == 0 {
		v.Field("site_id", "is required")
	} else if o, err := s.partners.Site(ctx, siteID); errors.Is(err, apperr.ErrNotFound) {
		v.Field("site_id", "no warehouse or space has id %d", siteID)
	} else if err != nil {
		return ImportResult{}, err
	} else {
		site = o
	}
	if own, ok := c.SiteID(); ok && siteID != 0 && own != siteID {
		v.Field("site_id", "you import at your own site (id %d)", own)
	}
	if err := v.Err(); err != nil {
		return ImportResult{}, err
	}
	if s.keys == nil {
		return ImportResult{}, errors.New("no key to seal PINs: configure TREMPLIN_SECRET_KEY")
	}
	h := sha256.New()
	p, err := newRechargeParser(io.TeeReader(r, h), s.now().In(site.Location()).Format(time.DateOnly), product.OperatorID, s, progress)
	if err != nil {
		return ImportResult{}, err
	}
	defer p.Close()
	postgres := s.db.Engine == database.Postgres
	res := ImportResult{ProductID: productID, SiteID: siteID}
	run := func(tx importTx) error {
		if postgres {
			// The cards are put in the file's order in memory, not on disk.
			if err := tx.exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
				return fmt.Errorf("import memory: %w", err)
			}
		}
		if err := tx.exec(ctx, `CREATE TEMP TABLE recharge_staging (line INTEGER, serial TEXT, pin_sealed `+tx.blob()+`, pin_key_id TEXT, expires_on TEXT)`); err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		defer tx.exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS recharge_staging`)
		if err := tx.stage(ctx, p); err != nil {
			return err
		}
		if p.err != nil {
			return p.err
		}
		res.SHA256 = hex.EncodeToString(h.Sum(nil))
		var prevID int64
		var prevAt time.Time
		if err := tx.queryRow(ctx, `SELECT id, imported_at FROM recharge_batches WHERE file_sha256 = ?`, []any{res.SHA256}, &prevID, &prevAt); err == nil {
			return apperr.Conflict("duplicate-file", "this file was already imported, as batch %d on %s; nothing was imported again",
				prevID, prevAt.In(site.Location()).Format("02/01/2006 15:04"))
		} else if !errors.Is(err, errNoRows) {
			return fmt.Errorf("check earlier imports: %w", err)
		}
		if p.lines == 0 && len(p.errs) == 0 {
			return apperr.Invalid("file", "the file has a header but no card")
		}
		dups, err := tx.lines(ctx, `SELECT s.line, s.serial, f.first FROM recharge_staging s
			JOIN (SELECT serial, MIN(line) AS first FROM recharge_staging GROUP BY serial HAVING COUNT(*) > 1) f ON f.serial = s.serial
			WHERE s.line <> f.first ORDER BY s.line LIMIT `+fmt.Sprint(maxReportedLines))
		if err != nil {
			return fmt.Errorf("find repeated serials: %w", err)
		}
		for _, d := range dups {
			p.addErr(d.line, "serial %s is also on line %d", d.serial, d.other)
		}
		known, err := tx.lines(ctx, `SELECT s.line, s.serial, u.batch_id FROM recharge_staging s
			JOIN recharge_units u ON u.operator_id = ? AND u.serial = s.serial ORDER BY s.line LIMIT `+fmt.Sprint(maxReportedLines), product.OperatorID)
		if err != nil {
			return fmt.Errorf("find known serials: %w", err)
		}
		for _, k := range known {
			p.addErr(k.line, "serial %s is already known (batch %d)", k.serial, k.other)
		}
		if err := p.failure(); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, `INSERT INTO recharge_batches (product_id, site_id, imported_by, imported_at, file_sha256, units)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, []any{productID, siteID, c.UserRef(), s.now(), res.SHA256, p.lines}, &res.ID); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-file", "this file was imported meanwhile by someone else; nothing was imported again")
			}
			return fmt.Errorf("record batch: %w", err)
		}
		if err := tx.exec(ctx, `INSERT INTO recharge_units (product_id, operator_id, batch_id, site_id, serial, pin_sealed, pin_key_id, expires_on, status)
			SELECT ?, ?, ?, ?, serial, pin_sealed, pin_key_id, expires_on, 'available' FROM recharge_staging ORDER BY line`,
			productID, product.OperatorID, res.ID, siteID); err != nil {
			return fmt.Errorf("store units: %w", err)
		}
		q, args, err := audit.Statement(ctx, "recharge_batch.import", "recharge_batch", res.ID,
			map[string]any{"product_id": productID, "site_id": siteID, "units": p.lines, "sha256": res.SHA256})
		if err != nil {
			return err
		}
		return tx.exec(ctx, q, args...)
	}
	if postgres {
		err = s.withPgx(ctx, run)
	} else {
		err = s.inTx(ctx, func(tx *gorm.DB) error { return run(gormImportTx{tx}) })
	}
	if err != nil {
		return ImportResult{}, err
	}
	res.Imported = p.lines
	if progress != nil {
		progress(p.read)
	}
	return res, nil
}

// rechargeParser reads, checks and seals the lines of an operator file. It
// is also the COPY source on PostgreSQL.
type rechargeParser struct {
	file       *csvfile.Reader
	today      string
	operatorID int64
	s          *Service
	progress   func(int)

	noSeal bool // for fuzzing the reader alone
	row    []any

	// The sealing goroutines (startSealing).
	sealed   chan [][]any
	batch    [][]any
	stop     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	sealErr  error

	lines    int // valid cards staged
	read     int // data lines read
	errs     []lineErr
	badLines int
	err      error
}

type lineErr struct {
	line int
	msg  string
	// format and args are the message's parts, for the pages to translate
	format string
	args   []any
	other  int64
	// serial is set for duplicate reports
	serial string
}

var errNoRows = errors.New("no rows")

var errSQLNoRows = sql.ErrNoRows

func newRechargeParser(r io.Reader, today string, operatorID int64, s *Service, progress func(int)) (*rechargeParser, error) {
	f, err := csvfile.Open(r, csvfile.Spec{Columns: []string{"serial", "pin", "expires_on"}, Required: []string{"serial", "pin", "expires_on"}, What: "card"})
	if err != nil {
		return nil, err
	}
	return &rechargeParser{file: f, today: today, operatorID: operatorID, s: s, progress: progress}, nil
}

func (p *rechargeParser) addErr(line int, format string, args ...any) {
	p.badLines++
	if len(p.errs) < maxReportedLines {
		p.errs = append(p.errs, lineErr{line: line, msg: fmt.Sprintf(format, args...), format: format, args: args})
	}
}

// failure is the 422 listing the bad lines, or nil.
func (p *rechargeParser) failure() error {
	if p.badLines == 0 {
		return nil
	}
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].line < p.errs[j].line })
	v := &apperr.ValidationError{}
	for _, e := range p.errs {
		v.Line(e.line, e.format, e.args...)
	}
	if more := p.badLines - len(p.errs); more > 0 {
		v.Field("file", "%d more bad lines not listed; fix these and send the file again", more)
	}
	return v
}

// card is a good line, its PIN not sealed yet.
type card struct {
	line                 int
	serial, pin, expires string
}

// scan reads up to the next good line (bad ones are recorded and
// skipped); false at the end of the file or when it cannot be read.
func (p *rechargeParser) scan() (card, bool) {
	for {
		rec, err := p.file.Next()
		if errors.Is(err, io.EOF) {
			return card{}, false
		}
		var bad *csvfile.LineError
		if errors.As(err, &bad) {
			p.read++
			p.addErr(bad.Line, "%s", bad.Message)
			continue
		}
		if err != nil {
			// The file cannot be read further (a cut connection, the body
			// limit): the import ends, never reading again.
			p.err = err
			return card{}, false
		}
		line := rec.Line
		p.read++
		if p.progress != nil && p.read%10000 == 0 {
			p.progress(p.read)
		}
		serial, pin, expires := rec.Get("serial"), rec.Get("pin"), rec.Get("expires_on")
		ok := true
		switch {
		case serial == "":
			p.addErr(line, "serial is missing")
			ok = false
		case len(serial) > 64 || !isPrintable(serial):
			p.addErr(line, "serial must be at most 64 printable characters")
			ok = false
		}
		if ok {
			if len(pin) > 64 || !isPrintable(pin) {
				p.addErr(line, "PIN must be at most 64 printable characters")
				ok = false
			}
		}
		if ok {
			d, err := time.Parse(time.DateOnly, expires)
			switch {
			case expires == "":
				p.addErr(line, "expires_on is missing")
				ok = false
			case err != nil:
				p.addErr(line, "expires_on %q is not a date such as 2027-06-30", expires)
				ok = false
			case d.Format(time.DateOnly) < p.today:
				p.addErr(line, "expires_on %s is past", expires)
				ok = false
			}
		}
		if !ok {
			continue
		}
		p.lines++
		return card{line, strings.Clone(serial), strings.Clone(pin), strings.Clone(expires)}, true // sealed later, by another goroutine
	}
}

// seal makes a card's staging row, its PIN sealed and bound to its serial.
func (p *rechargeParser) seal(c card) ([]any, error) {
	var sealed []byte
	var keyID any
	if c.pin != "" {
		b, id, err := p.s.keys.Seal([]byte(c.pin), pinAAD(p.operatorID, c.serial))
		if err != nil {
			return nil, err
		}
		sealed, keyID = b, id
	}
	return []any{c.line, c.serial, sealed, keyID, c.expires}, nil
}

// Next moves to the next good line's row. Lines are read and checked in
// order by one goroutine; their PINs are sealed by one worker per core
// while the file streams, and their rows come back in any order (the
// staging table keeps each row's line).
func (p *rechargeParser) Next() bool {
	if p.noSeal {
		c, ok := p.scan()
		if ok {
			p.row = []any{c.line, c.serial, nil, nil, c.expires}
		}
		return ok
	}
	if p.sealed == nil {
		p.startSealing()
	}
	for len(p.batch) == 0 {
		b, ok := <-p.sealed
		if !ok {
			p.mu.Lock()
			if p.err == nil {
				p.err = p.sealErr
			}
			p.mu.Unlock()
			return false
		}
		p.batch = b
	}
	p.row, p.batch = p.batch[0], p.batch[1:]
	return true
}

// sealBatch is how many cards travel together between the goroutines.
const sealBatch = 512

// startSealing starts the reader and the sealers; Close stops them.
func (p *rechargeParser) startSealing() {
	workers := max(1, runtime.GOMAXPROCS(0))
	cards := make(chan []card, workers)
	p.sealed = make(chan [][]any, workers)
	p.stop = make(chan struct{})
	go func() { // the reader: the file's order, its errors
		defer close(cards)
		b := make([]card, 0, sealBatch)
		for {
			c, ok := p.scan()
			if ok {
				b = append(b, c)
			}
			if len(b) == sealBatch || (!ok && len(b) > 0) {
				select {
				case cards <- b:
				case <-p.stop:
					return
				}
				b = make([]card, 0, sealBatch)
			}
			if !ok {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range cards {
				rows := make([][]any, 0, len(b))
				for _, c := range b {
					row, err := p.seal(c)
					if err != nil {
						p.mu.Lock()
						p.sealErr = err
						p.mu.Unlock()
						return
					}
					rows = append(rows, row)
				}
				select {
				case p.sealed <- rows:
				case <-p.stop:
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(p.sealed) }()
}

// Close stops the reader and the sealers when the import ends before the
// file does (a failed COPY), and lets them finish otherwise.
func (p *rechargeParser) Close() {
	if p.stop != nil {
		p.stopOnce.Do(func() { close(p.stop) })
		for range p.sealed { // until they are gone
		}
	}
}

// Values is the current row, for COPY.
func (p *rechargeParser) Values() ([]any, error) { return p.row, nil }

// Err is a failure that stops the import (not a bad line).
func (p *rechargeParser) Err() error { return p.err }

// pinAAD binds a sealed PIN to its card, so it cannot be moved to another row.
func pinAAD(operatorID int64, serial string) []byte {
	return []byte(fmt.Sprintf("recharge-pin/%d/%s", operatorID, serial))
}

// importTx is what an import needs from a transaction: GORM's on SQLite,
// pgx's on PostgreSQL (for COPY).
type importTx interface {
	exec(ctx context.Context, q string, args ...any) error
	queryRow(ctx context.Context, q string, args []any, dest ...any) error
	lines(ctx context.Context, q string, args ...any) ([]lineErr, error)
	stage(ctx context.Context, p *rechargeParser) error
	blob() string
}

type gormImportTx struct{ tx *gorm.DB }

func (g gormImportTx) blob() string { return "BLOB" }

func (g gormImportTx) exec(ctx context.Context, q string, args ...any) error {
	return g.tx.WithContext(ctx).Exec(q, args...).Error
}

func (g gormImportTx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	err := g.tx.WithContext(ctx).Raw(q, args...).Row().Scan(dest...)
	if errors.Is(err, errSQLNoRows) {
		return errNoRows
	}
	return err
}

func (g gormImportTx) lines(ctx context.Context, q string, args ...any) ([]lineErr, error) {
	rows, err := g.tx.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanLines(rows)
}

// stage inserts rows 200 at a time (5 parameters each, well under SQLite's limit).
func (g gormImportTx) stage(ctx context.Context, p *rechargeParser) error {
	const per = 200
	args := make([]any, 0, per*5)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / 5
		q := "INSERT INTO recharge_staging (line, serial, pin_sealed, pin_key_id, expires_on) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?),", n), ",")
		err := g.tx.WithContext(ctx).Exec(q, args...).Error
		args = args[:0]
		return err
	}
	defer p.Close()
	for p.Next() {
		args = append(args, p.row...)
		if len(args) == per*5 {
			if err := flush(); err != nil {
				return fmt.Errorf("stage cards: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("stage cards: %w", err)
	}
	return nil
}

type pgxImportTx struct{ tx pgx.Tx }

func (p pgxImportTx) blob() string { return "BYTEA" }

// rebind turns ? placeholders into PostgreSQL's $n.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (p pgxImportTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := p.tx.Exec(ctx, rebind(q), args...)
	return err
}

func (p pgxImportTx) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	err := p.tx.QueryRow(ctx, rebind(q), args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}

func (p pgxImportTx) lines(ctx context.Context, q string, args ...any) ([]lineErr, error) {
	rows, err := p.tx.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanLines(rows)
}

// scanLines reads (line, serial, other) rows from either driver.
func scanLines(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}) ([]lineErr, error) {
	var out []lineErr
	for rows.Next() {
		var e lineErr
		var line int64
		if err := rows.Scan(&line, &e.serial, &e.other); err != nil {
			return nil, err
		}
		e.line = int(line)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (p pgxImportTx) stage(ctx context.Context, src *rechargeParser) error {
	_, err := p.tx.CopyFrom(ctx, pgx.Identifier{"recharge_staging"}, []string{"line", "serial", "pin_sealed", "pin_key_id", "expires_on"}, src)
	src.Close() // a COPY that failed midway leaves the reader and sealers running
	if src.err != nil {
		return src.err // the file's own failure, which pgx reports as a cancelled COPY
	}
	if err != nil {
		return fmt.Errorf("copy cards: %w", err)
	}
	return nil
}

// withPgx runs fn in a pgx transaction on one pooled connection: the bulk path.
func (s *Service) withPgx(ctx context.Context, fn func(importTx) error) error {
	sqlDB, err := s.db.DB.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		sc, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("bulk import needs the pgx driver, got %T", driverConn)
		}
		return pgx.BeginFunc(ctx, sc.Conn(), func(tx pgx.Tx) error { return fn(pgxImportTx{tx}) })
	})
}

// isPrintable is the check of the printable pattern, without a regexp: it
// runs on every line of million-line files.
func isPrintable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && !unicode.IsPrint(r)) {
			return false
		}
	}
	return true
}

// nextWithoutSeal reads the next good line without sealing its PIN (the
// fuzz target checks the reader, not the cipher).
func (p *rechargeParser) nextWithoutSeal() bool {
	p.noSeal = true
	return p.Next()
}
