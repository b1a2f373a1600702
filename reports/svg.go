package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Series is one line or one set of bars of a chart.
type Series struct {
	Name   string
	Values []int64
}

// palette tells series apart on white, each dark enough to read (3:1 at
// least against white, as WCAG asks of graphics).
var palette = []string{"#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#374151"}

const (
	chartW, chartH       = 640.0, 260.0
	padL, padR, padT     = 44.0, 12.0, 28.0
	padB                 = 36.0
	plotW, plotH         = chartW - padL - padR, chartH - padT - padB
	labelSize, tickCount = 12, 4
)

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
func niceMax(v int64) int64 {
	if v <= 0 {
		return 1
	}
	p := int64(math.Pow(10, math.Floor(math.Log10(float64(v)))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// frame draws the axes, the horizontal ticks and the x labels (every
// step-th, so that they never overlap) of a chart of the series over the
// labelled columns; it returns the axis' top and a column's width.
func frame(b *strings.Builder, title string, labels []string, series []Series) (top int64, colW float64) {
	for _, s := range series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	top = niceMax(top)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" role="img" aria-label="%s" class="chart">`,
		chartW, chartH, template.HTMLEscapeString(title))
	ticks := min(tickCount, top) // whole numbers only, each once
	for i := int64(0); i <= ticks; i++ {
		v := top * i / ticks
		y := padT + plotH - plotH*float64(v)/float64(top)
		fmt.Fprintf(b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#d1d5db" stroke-width="1"/>`, padL, y, chartW-padR, y)
		fmt.Fprintf(b, `<text x="%g" y="%.1f" font-size="%d" text-anchor="end" fill="#374151">%d</text>`, padL-6, y+4, labelSize, v)
	}
	step := max(1, (len(labels)+7)/8)
	colW = plotW / float64(max(1, len(labels)))
	for i, l := range labels {
		if i%step != 0 {
			continue
		}
		x := padL + colW*(float64(i)+0.5)
		fmt.Fprintf(b, `<text x="%.1f" y="%g" font-size="%d" text-anchor="middle" fill="#374151">%s</text>`, x, chartH-padB+18, labelSize, template.HTMLEscapeString(l))
	}
	return top, colW
}

// legend writes the series' names and colours above the plot.
func legend(b *strings.Builder, series []Series) {
	x := padL
	for i, s := range series {
		fmt.Fprintf(b, `<rect x="%.1f" y="8" width="12" height="12" fill="%s"/>`, x, palette[i%len(palette)])
		fmt.Fprintf(b, `<text x="%.1f" y="18" font-size="%d" fill="#111827">%s</text>`, x+16, labelSize, template.HTMLEscapeString(s.Name))
		x += 16 + float64(len([]rune(s.Name)))*6.5 + 14
	}
}

// LineChart draws series over labelled columns (weeks) as lines with a
// point at each value.
func LineChart(title string, labels []string, series []Series) template.HTML {
	var b strings.Builder
	top, colW := frame(&b, title, labels, series)
	for i, s := range series {
		colour := palette[i%len(palette)]
		var pts []string
		for j, v := range s.Values {
			x := padL + colW*(float64(j)+0.5)
			y := padT + plotH - plotH*float64(v)/float64(top)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x, y, colour)
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), colour)
		}
	}
	legend(&b, series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// BarChart draws series as bars side by side in each labelled column.
func BarChart(title string, labels []string, series []Series) template.HTML {
	var b strings.Builder
	top, colW := frame(&b, title, labels, series)
	barW := colW * 0.8 / float64(max(1, len(series)))
	for i, s := range series {
		for j, v := range s.Values {
			h := plotH * float64(v) / float64(top)
			x := padL + colW*float64(j) + colW*0.1 + barW*float64(i)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x, padT+plotH-h, barW, h, palette[i%len(palette)])
		}
	}
	if len(series) > 1 {
		legend(&b, series)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
