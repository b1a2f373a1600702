package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Writer is the one way Tremplin writes a CSV. A spreadsheet reads a cell
// that begins with =, +, -, @, a tab or a carriage return as a formula, so
// a name or a serial an outsider chose (an operator's file, an
// organisation's name) could run one in an accountant's Excel: such a cell
// is written with a leading single quote (OWASP's rule). Plain numbers,
// negative ones included, are written as they are.
type Writer struct {
	w *csv.Writer
}

// NewWriter writes comma-separated lines to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one line, each cell neutralised.
func (w *Writer) Write(record []string) error {
	safe := make([]string, len(record))
	for i, cell := range record {
		safe[i] = Neutralise(cell)
	}
	return w.w.Write(safe)
}

// Flush writes what is buffered; Error tells whether a write failed.
func (w *Writer) Flush() { w.w.Flush() }

// Error is the first error of a Write or Flush.
func (w *Writer) Error() error { return w.w.Error() }

var plainNumber = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)

// Neutralise makes a cell inert for a spreadsheet.
func Neutralise(cell string) string {
	if cell == "" || plainNumber.MatchString(cell) {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

// WriteAll writes every line and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// Spreadsheet turns a CSV Tremplin wrote into the form French Excel opens
// in columns: a UTF-8 byte-order mark, semicolons, and the header's names
// said by header (a person's language). The API keeps its documented form;
// pages offer this one.
func Spreadsheet(src []byte, header func(column string) string) ([]byte, error) {
	r := csv.NewReader(bytes.NewReader(src))
	r.FieldsPerRecord = -1
	var out bytes.Buffer
	out.WriteString("\ufeff")
	w := csv.NewWriter(&out)
	w.Comma = ';'
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("spreadsheet form: %w", err)
		}
		if first {
			for i, col := range rec {
				rec[i] = header(col)
			}
			first = false
		}
		for i, cell := range rec {
			rec[i] = Neutralise(cell)
		}
		if err := w.Write(rec); err != nil {
			return nil, fmt.Errorf("spreadsheet form: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("spreadsheet form: %w", err)
	}
	return out.Bytes(), nil
}
