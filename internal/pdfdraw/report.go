package pdfdraw

import "fmt"

// Report starts an A4 document for a printed record (a certificate, a
// delivery note): 15 mm margins, pages that break by themselves, and a
// footer "FOOTER — page n/N" on each.
func Report(title, footer string) *Doc {
	d := A4()
	d.SetTitle(title, true)
	d.SetMargins(15, 15, 15)
	d.SetAutoPageBreak(true, 15)
	d.AliasNbPages("{nb}")
	d.SetFooterFunc(func() {
		d.SetY(-10)
		d.SetFont(Regular, "", 8)
		d.CellFormat(0, 5, Clean(fmt.Sprintf("%s — page %d/{nb}", footer, d.PageNo())), "", 0, "R", false, 0, "")
	})
	d.AddPage()
	return d
}

// Heading writes a bold line of the given size.
func (d *Doc) Heading(size float64, s string) {
	d.SetFont(Regular, "B", size)
	d.MultiCell(0, size*0.45, Clean(s), "", "L", false)
}

// Lines writes short paragraphs in the regular font, each wrapping.
func (d *Doc) Lines(size float64, lines ...string) {
	d.SetFont(Regular, "", size)
	for _, l := range lines {
		d.MultiCell(0, size*0.55, Clean(l), "", "L", false)
	}
}

// Column is one column of a Table.
type Column struct {
	Title string
	Width float64 // mm
}

// Table draws rows whose cells wrap onto as many lines as they need: a long
// value is never cut. A row that does not fit the page starts the next one,
// under the header again.
type Table struct {
	d     *Doc
	cols  []Column
	size  float64 // font size, points
	lineH float64 // mm
}

// NewTable starts a table in the regular font of the given size, and draws
// its header.
func (d *Doc) NewTable(size float64, cols ...Column) *Table {
	t := &Table{d: d, cols: cols, size: size, lineH: size * 0.5}
	t.header()
	return t
}

func (t *Table) header() {
	d := t.d
	d.SetFont(Regular, "B", t.size)
	d.SetFillColor(230, 230, 230)
	for _, c := range t.cols {
		d.CellFormat(c.Width, t.lineH+1.5, Clean(c.Title), "1", 0, "L", true, 0, "")
	}
	d.Ln(-1)
	d.SetFont(Regular, "", t.size)
}

// X is the left edge of column i.
func (t *Table) X(i int) float64 {
	left, _, _, _ := t.d.GetMargins()
	for _, c := range t.cols[:i] {
		left += c.Width
	}
	return left
}

// Row draws one row at least minH mm high and returns its top edge and
// height, for drawings inside its cells (a barcode, a box to tick).
func (t *Table) Row(minH float64, cells ...string) (top, height float64) {
	d := t.d
	const pad = 0.8
	lines := make([][]string, len(t.cols))
	h := minH
	for i := range t.cols {
		if i < len(cells) && cells[i] != "" {
			lines[i] = d.SplitText(Clean(cells[i]), t.cols[i].Width-2*pad)
		}
		h = max(h, float64(len(lines[i]))*t.lineH+2*pad)
	}
	_, pageH := d.GetPageSize()
	_, _, _, bottom := d.GetMargins()
	if d.GetY()+h > pageH-bottom {
		d.AddPage()
		t.header()
	}
	top = d.GetY()
	for i, c := range t.cols {
		x := t.X(i)
		d.Rect(x, top, c.Width, h, "D")
		for j, l := range lines[i] {
			d.SetXY(x+pad, top+pad+float64(j)*t.lineH)
			d.CellFormat(c.Width-2*pad, t.lineH, l, "", 0, "L", false, 0, "")
		}
	}
	d.SetXY(t.X(0), top+h)
	return top, h
}
