package recharges

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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

	"github.com/tremplin/tremplin/figures"
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
// serial,pin,expires_on) at a site: all or nothing. It streams the file:
// lines are read and checked in order, their PINs sealed by one worker per
// core. On PostgreSQL the cards are copied straight into recharge_units
// under a batch written first (the unique serials refuse a repeated or known
// one); only when that copy is refused are the file's serials staged to say
// which lines repeat. On SQLite they go through a staging table first.
// progress, when not nil, is told the number of lines read now and then.
func (s *Service) Import(ctx context.Context, c partners.Caller, productID, siteID int64, r io.Reader, progress func(lines int)) (ImportResult, error) {
	if err := c.Require(WarehouseRoles...); err != nil {
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
	im := &importRun{s: s, c: c, p: p, hash: h, site: site, product: product,
		res: ImportResult{ProductID: productID, SiteID: siteID}}
	if s.db.Engine == database.Postgres {
		err = s.withPgx(ctx, func(tx pgxImportTx) error { return im.direct(ctx, tx) })
	} else {
		// One connection for the staging table, which is the connection's.
		select {
		case s.stagers <- struct{}{}:
		case <-ctx.Done():
			return ImportResult{}, fmt.Errorf("wait for another import to finish: %w", ctx.Err())
		}
		err = s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error { return im.staged(ctx, conn) })
		<-s.stagers
	}
	if err != nil {
		return ImportResult{}, err
	}
	im.res.Imported = p.lines
	if progress != nil {
		progress(p.read)
	}
	return im.res, nil
}

// importRun is one import's state, shared by the two engines' paths.
type importRun struct {
	s       *Service
	c       partners.Caller
	p       *rechargeParser
	hash    hash.Hash
	site    partners.Organization
	product Product
	res     ImportResult
}

// staged is SQLite's path: every card into a staging table (the
// connection's own, a TEMP table), the checks in SQL, then the batch and its
// cards from the staging table. SQLite has one writer: only the last step
// holds it, in one short transaction, so that the reading of the upload and
// the sealing of its PINs (a minute for a million cards on a slow link)
// keep no sale and no login waiting. Staging and checking write only the
// connection's temporary database and read the main one.
func (im *importRun) staged(ctx context.Context, conn *gorm.DB) error {
	p := im.p
	c := gormImportTx{conn}
	if err := c.exec(ctx, `CREATE TEMP TABLE recharge_staging (line INTEGER, serial TEXT, pin_sealed BLOB, pin_key_id TEXT, expires_on TEXT)`); err != nil {
		return fmt.Errorf("staging table: %w", err)
	}
	defer c.exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS recharge_staging`)
	if err := c.stage(ctx, p); err != nil {
		return err
	}
	if p.err != nil {
		return p.err
	}
	if err := im.checkFile(ctx, c); err != nil {
		return err
	}
	if _, err := im.findRepeats(ctx, c); err != nil {
		return err
	}
	if err := p.failure(); err != nil {
		return err
	}
	return conn.Transaction(func(tx *gorm.DB) error { return im.publish(ctx, gormImportTx{tx}) })
}

// publish writes the checked staging table's batch and cards. A serial
// another import stored since the checks is refused by the unique index,
// and nothing is written.
func (im *importRun) publish(ctx context.Context, tx gormImportTx) error {
	p := im.p
	if err := tx.queryRow(ctx, `INSERT INTO recharge_batches (product_id, site_id, imported_by, imported_at, file_sha256, units)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, []any{im.product.ID, im.site.ID, im.c.UserRef(), im.s.now(), im.res.SHA256, p.lines}, &im.res.ID); err != nil {
		if database.IsUniqueViolation(err) {
			return apperr.Conflict("duplicate-file", "this file was imported meanwhile by someone else; nothing was imported again")
		}
		return fmt.Errorf("record batch: %w", err)
	}
	if err := tx.exec(ctx, `INSERT INTO recharge_units (product_id, operator_id, batch_id, site_id, serial, pin_sealed, pin_key_id, expires_on, status)
		SELECT ?, ?, ?, ?, serial, pin_sealed, pin_key_id, expires_on, 'available' FROM recharge_staging ORDER BY line`,
		im.product.ID, im.product.OperatorID, im.res.ID, im.site.ID); err != nil {
		if database.IsUniqueViolation(err) {
			return apperr.Conflict("cards-changed", "cards of this operator changed during the import; nothing was imported, send the file again")
		}
		return fmt.Errorf("store units: %w", err)
	}
	return im.audit(ctx, tx)
}

// unitColumns are the columns a card is copied into on PostgreSQL, in the
// order of the parser's rows.
var unitColumns = []string{"product_id", "operator_id", "batch_id", "site_id", "serial", "pin_sealed", "pin_key_id", "expires_on", "status"}

// direct is PostgreSQL's path: the batch first (its file's hash is known at
// the end only, so it starts under a name of its own), its cards copied
// straight into recharge_units in the file's order. A copy refused on a
// repeated or known serial is rolled back to before it; the rest of the
// file is read for its other errors, and the file's serials, kept aside
// while it streamed, are staged to say which lines repeat which.
func (im *importRun) direct(ctx context.Context, tx pgxImportTx) error {
	p := im.p
	if err := tx.queryRow(ctx, `INSERT INTO recharge_batches (product_id, site_id, imported_by, imported_at, file_sha256, units)
		VALUES (?, ?, ?, ?, 'importing ' || gen_random_uuid(), 0) RETURNING id`, []any{im.product.ID, im.site.ID, im.c.UserRef(), im.s.now()}, &im.res.ID); err != nil {
		return fmt.Errorf("record batch: %w", err)
	}
	if err := tx.exec(ctx, `SAVEPOINT cards`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	p.unit = []any{im.product.ID, im.product.OperatorID, im.res.ID, im.site.ID}
	p.serials = &serialLog{}
	_, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"recharge_units"}, unitColumns, p)
	p.Close() // a refused copy leaves the reader and sealers running
	if p.err != nil {
		return p.err // the file's own failure, which pgx reports as a cancelled copy
	}
	repeated := false
	switch {
	case err == nil:
	case database.IsUniqueViolation(err):
		repeated = true
		if p.drain(); p.err != nil {
			return p.err
		}
		if err := tx.exec(ctx, `ROLLBACK TO SAVEPOINT cards`); err != nil {
			return fmt.Errorf("roll back the cards: %w", err)
		}
	case database.IsDeadlock(err): // two files holding the same serials in opposite orders
		return apperr.Conflict("cards-changed", "another import of the same cards was under way; nothing was imported, send the file again")
	default:
		return fmt.Errorf("copy cards: %w", err)
	}
	if err := im.checkFile(ctx, tx); err != nil {
		return err
	}
	if repeated {
		if err := tx.exec(ctx, `CREATE TEMP TABLE recharge_staging (line INTEGER, serial TEXT) ON COMMIT DROP`); err != nil {
			return fmt.Errorf("staging table: %w", err)
		}
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"recharge_staging"}, []string{"line", "serial"}, p.serials.rows()); err != nil {
			return fmt.Errorf("stage serials: %w", err)
		}
		if err := tx.exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil { // the repeats are grouped in memory
			return fmt.Errorf("import memory: %w", err)
		}
		n, err := im.findRepeats(ctx, tx)
		if err != nil {
			return err
		}
		if n == 0 { // refused, yet no repeat to be seen: a race the next try settles
			return apperr.Conflict("cards-changed", "cards of this operator changed during the import; nothing was imported, send the file again")
		}
	}
	if err := p.failure(); err != nil {
		return err
	}
	if err := tx.exec(ctx, `UPDATE recharge_batches SET file_sha256 = ?, units = ?, imported_at = ? WHERE id = ?`,
		im.res.SHA256, p.lines, im.s.now(), im.res.ID); err != nil {
		if database.IsUniqueViolation(err) {
			return apperr.Conflict("duplicate-file", "this file was imported meanwhile by someone else; nothing was imported again")
		}
		return fmt.Errorf("record batch: %w", err)
	}
	return im.audit(ctx, tx)
}

// checkFile refuses a file imported before, and one with no card, once the
// whole file has been read.
func (im *importRun) checkFile(ctx context.Context, tx importTx) error {
	im.res.SHA256 = hex.EncodeToString(im.hash.Sum(nil))
	var prevID int64
	var prevAt time.Time
	if err := tx.queryRow(ctx, `SELECT id, imported_at FROM recharge_batches WHERE file_sha256 = ?`, []any{im.res.SHA256}, &prevID, &prevAt); err == nil {
		return apperr.Conflict("duplicate-file", "this file was already imported, as batch %d on %s; nothing was imported again",
			prevID, prevAt.In(im.site.Location()).Format("02/01/2006 15:04"))
	} else if !errors.Is(err, errNoRows) {
		return fmt.Errorf("check earlier imports: %w", err)
	}
	if im.p.lines == 0 && len(im.p.errs) == 0 {
		return apperr.Invalid("file", "the file has a header but no card")
	}
	return nil
}

// findRepeats reports the staged serials repeated in the file or already
// known to the operator, and says how many it found.
func (im *importRun) findRepeats(ctx context.Context, tx importTx) (int, error) {
	p := im.p
	dups, err := tx.lines(ctx, `SELECT s.line, s.serial, f.first FROM recharge_staging s
		JOIN (SELECT serial, MIN(line) AS first FROM recharge_staging GROUP BY serial HAVING COUNT(*) > 1) f ON f.serial = s.serial
		WHERE s.line <> f.first ORDER BY s.line LIMIT `+fmt.Sprint(maxReportedLines))
	if err != nil {
		return 0, fmt.Errorf("find repeated serials: %w", err)
	}
	for _, d := range dups {
		p.addErr(d.line, "serial %s is also on line %d", d.serial, d.other)
	}
	known, err := tx.lines(ctx, `SELECT s.line, s.serial, u.batch_id FROM recharge_staging s
		JOIN recharge_units u ON u.operator_id = ? AND u.serial = s.serial ORDER BY s.line LIMIT `+fmt.Sprint(maxReportedLines), im.product.OperatorID)
	if err != nil {
		return 0, fmt.Errorf("find known serials: %w", err)
	}
	for _, k := range known {
		p.addErr(k.line, "serial %s is already known (batch %d)", k.serial, k.other)
	}
	return len(dups) + len(known), nil
}

// audit records the import in the audit log, in its transaction.
func (im *importRun) audit(ctx context.Context, tx importTx) error {
	// The cards on the shelf, as the stock pages count them.
	var fig figures.Tally
	fig.MoveCards(0, "", im.site.ID, UnitAvailable, im.product.ID, int64(im.p.lines))
	qs, as, err := fig.Statements(tx.engine())
	if err != nil {
		return err
	}
	for i := range qs {
		if err := tx.exec(ctx, qs[i], as[i]...); err != nil {
			return fmt.Errorf("figures: %w", err)
		}
	}
	q, args, err := audit.Statement(ctx, "recharge_batch.import", "recharge_batch", im.res.ID,
		map[string]any{"product_id": im.product.ID, "site_id": im.site.ID, "units": im.p.lines, "sha256": im.res.SHA256})
	if err != nil {
		return err
	}
	return tx.exec(ctx, q, args...)
}

// rechargeParser reads, checks and seals the lines of an operator file. It
// is also the COPY source on PostgreSQL.
type rechargeParser struct {
	file       *csvfile.Reader
	today      string
	operatorID int64
	s          *Service
	progress   func(int)

	// unit, when set, is the product, operator, batch and site a row starts
	// with: the rows go straight into recharge_units. Otherwise a row is a
	// staging row (line, serial, pin_sealed, pin_key_id, expires_on).
	unit []any
	// serials, when set, keeps every good line's serial, to stage them if
	// the copy is refused.
	serials *serialLog

	noSeal bool // for fuzzing the reader alone
	cur    sealedCard
	row    []any

	// The sealing goroutines (startSealing).
	order    chan chan sealedBatch
	batch    []sealedCard
	stop     chan struct{}
	stopOnce sync.Once

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

// sealedCard is a good line with its PIN sealed (nil when the card has none).
type sealedCard struct {
	line    int
	serial  string
	sealed  []byte
	keyID   any
	expires string
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
			p.addErr(bad.Line, bad.Format, bad.Args...)
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
		case len(serial) > 64 || !isSerial(serial):
			p.addErr(line, "serial must be at most 64 letters, digits or dashes")
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
		if p.serials != nil {
			p.serials.add(line, serial)
		}
		return card{line, strings.Clone(serial), strings.Clone(pin), strings.Clone(expires)}, true // sealed later, by another goroutine
	}
}

// drain reads the rest of the file once the cards are no longer wanted,
// for its bad lines, its serials and its hash. Close must have returned.
func (p *rechargeParser) drain() {
	for p.err == nil {
		if _, ok := p.scan(); !ok {
			return
		}
	}
}

// seal seals a card's PIN, bound to its serial.
func (p *rechargeParser) seal(c card) (sealedCard, error) {
	out := sealedCard{line: c.line, serial: c.serial, expires: c.expires}
	if c.pin != "" {
		b, id, err := p.s.keys.Seal([]byte(c.pin), pinAAD(p.operatorID, c.serial))
		if err != nil {
			return sealedCard{}, err
		}
		out.sealed, out.keyID = b, id
	}
	return out, nil
}

// Next moves to the next good line's row, in the file's order. Lines are
// read and checked in order by one goroutine; their PINs are sealed by one
// worker per core while the file streams.
func (p *rechargeParser) Next() bool {
	if p.noSeal {
		c, ok := p.scan()
		if ok {
			p.cur = sealedCard{line: c.line, serial: c.serial, expires: c.expires}
		}
		return ok
	}
	if p.order == nil {
		p.startSealing()
	}
	for len(p.batch) == 0 {
		out, ok := <-p.order
		if !ok {
			return false
		}
		b := <-out
		if b.err != nil {
			p.Close() // the reader stops, so that p.err is ours alone
			if p.err == nil {
				p.err = b.err
			}
			return false
		}
		p.batch = b.cards
	}
	p.cur, p.batch = p.batch[0], p.batch[1:]
	return true
}

// sealBatch is how many cards travel together between the goroutines.
const sealBatch = 512

// sealedBatch is a batch of cards after its worker, or the worker's failure.
type sealedBatch struct {
	cards []sealedCard
	err   error
}

// sealJob is a batch of cards for a worker and where its result goes.
type sealJob struct {
	cards []card
	out   chan sealedBatch
}

// startSealing starts the reader and the sealers; Close stops them. The
// reader queues each batch's result channel in the file's order as it hands
// the batch to a worker, so Next takes the batches back in that order
// whichever worker finishes first, and no more than a few are ever out.
func (p *rechargeParser) startSealing() {
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan sealJob, workers)
	p.order = make(chan chan sealedBatch, 2*workers)
	p.stop = make(chan struct{})
	go func() { // the reader: the file's order, its errors
		defer close(jobs)
		defer close(p.order)
		b := make([]card, 0, sealBatch)
		for {
			c, ok := p.scan()
			if ok {
				b = append(b, c)
			}
			if len(b) == sealBatch || (!ok && len(b) > 0) {
				job := sealJob{cards: b, out: make(chan sealedBatch, 1)}
				select {
				case p.order <- job.out:
				case <-p.stop:
					return
				}
				jobs <- job // never blocks for long: workers take jobs until jobs is closed
				b = make([]card, 0, sealBatch)
			}
			if !ok {
				return
			}
		}
	}()
	for range workers {
		go func() {
			for job := range jobs {
				out := make([]sealedCard, 0, len(job.cards))
				var err error
				for _, c := range job.cards {
					var sc sealedCard
					if sc, err = p.seal(c); err != nil {
						break
					}
					out = append(out, sc)
				}
				job.out <- sealedBatch{cards: out, err: err} // buffered: never waits
			}
		}()
	}
}

// Close stops the reader when the import ends before the file does (a
// refused copy), and returns once the reader has stopped reading: the file
// is then the caller's again (drain).
func (p *rechargeParser) Close() {
	if p.order != nil {
		p.stopOnce.Do(func() { close(p.stop) })
		for range p.order { // until the reader is gone
		}
	}
}

// Values is the current row, for COPY: a card of recharge_units when unit
// is set, a staging row otherwise. The slice is reused from row to row.
func (p *rechargeParser) Values() ([]any, error) {
	c := p.cur
	var sealed any
	if c.sealed != nil {
		sealed = c.sealed
	}
	if p.unit != nil {
		p.row = append(append(p.row[:0], p.unit...), c.serial, sealed, c.keyID, c.expires, UnitAvailable)
	} else {
		p.row = append(p.row[:0], c.line, c.serial, sealed, c.keyID, c.expires)
	}
	return p.row, nil
}

// Err is a failure that stops the import (not a bad line).
func (p *rechargeParser) Err() error { return p.err }

// serialLog keeps the serials of a file's good lines in few allocations:
// a million take about 16 MB, against their sealed rows' hundreds.
type serialLog struct {
	chunks [][]byte // each serial is a length byte then its bytes
	lines  []int32
}

const serialChunk = 1 << 20

func (l *serialLog) add(line int, serial string) {
	if n := len(l.chunks); n == 0 || len(l.chunks[n-1])+1+len(serial) > serialChunk {
		l.chunks = append(l.chunks, make([]byte, 0, serialChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(append(*last, byte(len(serial))), serial...) // at most 64 bytes
	l.lines = append(l.lines, int32(line))
}

// rows is the log as (line, serial) rows for COPY.
func (l *serialLog) rows() pgx.CopyFromSource {
	return &serialRows{l: l, row: make([]any, 2)}
}

type serialRows struct {
	l          *serialLog
	chunk, off int
	i          int
	row        []any
}

func (r *serialRows) Next() bool {
	for r.chunk < len(r.l.chunks) && r.off >= len(r.l.chunks[r.chunk]) {
		r.chunk, r.off = r.chunk+1, 0
	}
	if r.chunk == len(r.l.chunks) {
		return false
	}
	c := r.l.chunks[r.chunk]
	n := int(c[r.off])
	r.row[0], r.row[1] = r.l.lines[r.i], string(c[r.off+1:r.off+1+n])
	r.off += 1 + n
	r.i++
	return true
}

func (r *serialRows) Values() ([]any, error) { return r.row, nil }
func (r *serialRows) Err() error             { return nil }

// pinAAD binds a sealed PIN to its card, so it cannot be moved to another row.
func pinAAD(operatorID int64, serial string) []byte {
	return []byte(fmt.Sprintf("recharge-pin/%d/%s", operatorID, serial))
}

// importTx is what an import's shared steps need from a transaction:
// GORM's on SQLite, pgx's on PostgreSQL (for COPY).
type importTx interface {
	// engine is the engine the transaction speaks to.
	engine() database.Engine
	exec(ctx context.Context, q string, args ...any) error
	queryRow(ctx context.Context, q string, args []any, dest ...any) error
	lines(ctx context.Context, q string, args ...any) ([]lineErr, error)
}

type gormImportTx struct{ tx *gorm.DB }

func (g gormImportTx) engine() database.Engine { return database.EngineOf(g.tx) }

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

// stage inserts the staging rows 200 at a time (5 parameters each, well under SQLite's limit).
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
		row, _ := p.Values()
		args = append(args, row...)
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

func (pgxImportTx) engine() database.Engine { return database.Postgres }

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

// withPgx runs fn in a pgx transaction on one pooled connection: the bulk path.
func (s *Service) withPgx(ctx context.Context, fn func(pgxImportTx) error) error {
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
// isSerial: an operator's serial is letters, digits and dashes. Anything
// else has no business in a card's number, and a serial such as =1+1 would
// run as a formula in the spreadsheet of the sold report.
func isSerial(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

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
