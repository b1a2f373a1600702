// Package csvfile reads the spreadsheets people upload (a donation's
// devices, an operator's cards) the way they come out of Excel or
// LibreOffice: UTF-8 with or without a BOM, UTF-16 with one, Windows-1252
// (French Excel's default; see decoded), comma or semicolon (whichever the
// header line has more of), CRLF or LF, a header naming the columns in any
// order and case, blank lines skipped. Each bad line is reported with its
// number; a read error (a cut connection, the body limit) ends the reading.
// It streams: a million lines take no more memory than one.
package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Spec names a file's columns.
type Spec struct {
	// Columns are every column the file may have, in the documented order.
	Columns []string
	// Required are the columns it must have.
	Required []string
	// What names one data line, for messages ("device", "card").
	What string
}

// Reader reads one file.
type Reader struct {
	csv   *csv.Reader
	spec  Spec
	cols  map[string]int // column name → 1-based position
	width int            // cells in the header
}

// Record is one data line.
type Record struct {
	Line  int
	cells []string
	r     *Reader
}

// LineError is a line that cannot be read as CSV or has too many cells: the
// caller reports it and reads on.
type LineError struct {
	Line    int
	Message string
	// Format and Args say it again for a translation (the catalogue's key).
	Format string
	Args   []any
}

func lineError(line int, format string, args ...any) *LineError {
	return &LineError{Line: line, Message: fmt.Sprintf(format, args...), Format: format, Args: args}
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Open reads the header. A missing, unknown or repeated column is a
// validation error on line 1; an empty file is one too.
func Open(r io.Reader, spec Spec) (*Reader, error) {
	br, err := decoded(r)
	if err != nil {
		return nil, err
	}
	head, _ := br.Peek(4096)
	first, _, _ := bytes.Cut(head, []byte("\n"))
	cr := csv.NewReader(br)
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == nil && !validCells(header) {
		err = errNotUTF8
	}
	example := strings.Join(spec.Columns, ",")
	if errors.Is(err, io.EOF) {
		return nil, apperr.Invalid("file", "the file is empty: expected a header line %s and one line per %s", example, spec.What)
	}
	if err != nil {
		if rerr := ReadFailure(err); rerr != nil {
			return nil, rerr
		}
		v := &apperr.ValidationError{}
		v.Line(1, "header: %s", Problem(err))
		return nil, v
	}
	f := &Reader{csv: cr, spec: spec, cols: map[string]int{}, width: len(header)}
	v := &apperr.ValidationError{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case name == "":
		case !slices.Contains(spec.Columns, name):
			v.Line(1, "unknown column %q (expected %s)", strings.TrimSpace(h), strings.Join(spec.Columns, ", "))
		case f.cols[name] != 0:
			v.Line(1, "column %q appears twice", name)
		default:
			f.cols[name] = i + 1
		}
	}
	for _, need := range spec.Required {
		if f.cols[need] == 0 {
			v.Line(1, "missing column %q (the header is %s)", need, example)
		}
	}
	return f, v.Err()
}

// Next returns the next line with at least one non-blank cell. At the end
// it returns io.EOF; for a line that cannot be read, a *LineError (read on);
// for a file that cannot be read further, the error that ends the reading.
// A Record's cells are valid until the next call.
func (f *Reader) Next() (Record, error) {
	for {
		cells, err := f.csv.Read()
		if errors.Is(err, io.EOF) {
			return Record{}, io.EOF
		}
		if err != nil {
			if rerr := ReadFailure(err); rerr != nil {
				return Record{}, rerr
			}
			// FieldPos panics on a record that failed to parse: take the error's line.
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return Record{}, lineError(line, "%s", Problem(err))
		}
		line := 0
		if len(cells) > 0 {
			line, _ = f.csv.FieldPos(0)
		}
		if strings.TrimSpace(strings.Join(cells, "")) == "" {
			continue
		}
		if !validCells(cells) {
			return Record{}, lineError(line, notUTF8)
		}
		if len(cells) > f.width {
			return Record{}, lineError(line, "%d cells, but the header has %d", len(cells), f.width)
		}
		return Record{Line: line, cells: cells, r: f}, nil
	}
}

// sniff is how much of a file is read to tell its encoding.
const sniff = 64 << 10

const notUTF8 = "this line is not UTF-8 text: save the file as « CSV UTF-8 » and send it again"

var errNotUTF8 = errors.New(notUTF8)

// decoded reads a file in the encoding it came in, as UTF-8: a byte-order
// mark says UTF-8 or UTF-16; without one, a start that is valid UTF-8 is
// UTF-8 (a later line that is not is refused by itself), and anything else
// is Windows-1252, which French Excel writes by default (« CSV
// (séparateur : point-virgule) »). UTF-16 without its mark is refused: its
// zero bytes read as nothing else.
func decoded(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, sniff)
	// The start of the file is judged; a read error met here is met again
	// by the reading of the lines, which reports it.
	head, _ := br.Peek(sniff)
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		_, _ = br.Discard(3)
		return br, nil
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		dec := unicode.BOMOverride(unicode.UTF8.NewDecoder())
		return bufio.NewReaderSize(transform.NewReader(br, dec), sniff), nil
	case bytes.IndexByte(head, 0) >= 0:
		return nil, apperr.Invalid("file", "the file looks like UTF-16 text without its byte-order mark: save it as « CSV UTF-8 » and send it again")
	}
	if utf8.Valid(trimPartialRune(head)) {
		return br, nil
	}
	return bufio.NewReaderSize(transform.NewReader(br, charmap.Windows1252.NewDecoder()), sniff), nil
}

// trimPartialRune drops a rune cut at the end of a peeked prefix.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		if c := b[len(b)-i]; c < 0x80 {
			return b
		} else if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

func validCells(cells []string) bool {
	for _, c := range cells {
		if !utf8.ValidString(c) {
			return false
		}
	}
	return true
}

// Get is a cell by column name, trimmed ("" when the column or cell is absent).
func (r Record) Get(name string) string {
	if i := r.r.cols[name]; i > 0 && i <= len(r.cells) {
		return strings.TrimSpace(r.cells[i-1])
	}
	return ""
}

// Problem says what is wrong with a line that does not parse.
func Problem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "unreadable CSV: " + pe.Err.Error()
	}
	return "unreadable CSV: " + err.Error()
}

// ReadFailure is the error that ends a reading when the file itself cannot
// be read (as opposed to a line that does not parse), or nil. Such an error
// repeats on every read: taking it for a bad line would read forever.
func ReadFailure(err error) error {
	var pe *csv.ParseError
	if err == nil || errors.Is(err, io.EOF) || errors.As(err, &pe) {
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("the file is over %d MB: split it and send each part: %w", tooLarge.Limit>>20, apperr.ErrTooLarge)
	}
	return fmt.Errorf("the file could not be read to its end (%v); nothing was imported, send it again: %w", err, apperr.ErrMalformed)
}
