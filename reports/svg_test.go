package reports

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// TestChartsScaleToTheirLargestValue: both charts put their axis' top at
// the largest value rounded up to 1, 2 or 5 times a power of ten, draw
// each value at its height against it, and escape what they are given.
func TestChartsScaleToTheirLargestValue(t *testing.T) {
	series := []Series{{Name: "Vendus <b>", Values: []int64{0, 3, 7}}, {Name: "Reçus", Values: []int64{2, 1, 0}}}
	labels := []string{"S1", "S2", "S3"}

	bars := string(BarChart("Ventes & dons", labels, series))
	if !strings.Contains(bars, `aria-label="Ventes &amp; dons"`) || !strings.Contains(bars, "Vendus &lt;b&gt;") {
		t.Errorf("the bar chart does not escape its title or its series' names:\n%s", bars)
	}
	if !strings.Contains(bars, `fill="#374151">10</text>`) {
		t.Errorf("the bar chart's top is not 10 for a largest value of 7:\n%s", bars)
	}
	heights := regexp.MustCompile(`<rect x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"`).FindAllStringSubmatch(bars, -1)
	var got []string
	for _, h := range heights {
		got = append(got, h[1])
	}
	// Six bars (two series of three) plus the legend's two squares.
	want := []string{"0.0", fmt.Sprintf("%.1f", plotH*0.3), fmt.Sprintf("%.1f", plotH*0.7),
		fmt.Sprintf("%.1f", plotH*0.2), fmt.Sprintf("%.1f", plotH*0.1), "0.0"}
	if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("bar heights %v, want %v", got, want)
	}

	lines := string(LineChart("Flux", labels, series))
	if n := strings.Count(lines, "<polyline"); n != 2 {
		t.Errorf("the line chart draws %d lines for 2 series", n)
	}
	if n := strings.Count(lines, "<circle"); n != 6 {
		t.Errorf("the line chart draws %d points for 6 values", n)
	}
	// The 7 of the first series is drawn 70 % up the plot.
	if y := fmt.Sprintf(`cy="%.1f"`, padT+plotH-plotH*0.7); !strings.Contains(lines, y) {
		t.Errorf("no point at %s:\n%s", y, lines)
	}

	empty := string(BarChart("Rien", labels, []Series{{Name: "a", Values: []int64{0, 0, 0}}}))
	if !strings.Contains(empty, `fill="#374151">1</text>`) || strings.Contains(empty, "NaN") {
		t.Errorf("a chart of zeros is not scaled to 1:\n%s", empty)
	}
}
