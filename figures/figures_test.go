package figures_test

import (
	"fmt"
	"testing"

	"github.com/tremplin/tremplin/figures"
)

func TestRanges(t *testing.T) {
	for _, c := range []struct{ first, last, want string }{
		{"2025-12-07", "2026-12-06", "months [2026-01 2026-11] days [[2025-12-07 2025-12-31] [2026-12-01 2026-12-06]]"},
		{"2026-03-01", "2026-03-31", "months [2026-03 2026-03] days []"},
		{"2026-02-01", "2026-02-28", "months [2026-02 2026-02] days []"},
		{"2024-02-01", "2024-02-28", "months [ ] days [[2024-02-01 2024-02-28]]"}, // a leap year's February is not whole
		{"2026-03-13", "2026-03-31", "months [ ] days [[2026-03-13 2026-03-31]]"},
		{"2026-03-02", "2026-04-30", "months [2026-04 2026-04] days [[2026-03-02 2026-03-31]]"},
		{"2026-01-01", "2026-12-31", "months [2026-01 2026-12] days []"},
		{"2026-03-15", "2026-03-14", "months [ ] days [[2026-03-15 2026-03-14]]"},
	} {
		m, d := figures.Ranges(c.first, c.last)
		if d == nil {
			d = [][2]string{}
		}
		if got := fmt.Sprintf("months %v days %v", m, d); got != c.want {
			t.Errorf("Ranges(%s, %s) = %s, want %s", c.first, c.last, got, c.want)
		}
	}
}

// TestNetworkFiguresKeptByMonth: a day's network figure of many labels is
// kept once more in its month, under the same label; a site's is not.
func TestNetworkFiguresKeptByMonth(t *testing.T) {
	var tl figures.Tally
	tl.Add("2026-03-12", 0, figures.People, "2026-01-02", 1, 0)
	tl.Add("2026-03-20", 0, figures.People, "2026-01-02", 1, 0)
	tl.Add("2026-03-20", 7, figures.LagReadySold, "3", 1, 0)
	tl.Add("2026-03-20", 0, figures.Sales, "cash", 1, 500)
	got := tl.Rows()
	if d := got[figures.Key{Day: "2026-03", Metric: figures.Monthly(figures.People), Label: "2026-01-02"}]; d.N != 2 {
		t.Errorf("people in March: %+v (all: %v)", d, got)
	}
	if len(got) != 5 {
		t.Errorf("%d rows, want 2 days and a month of people, the site's wait, the sales: %v", len(got), got)
	}
}
