// Package money formats integer euro cents the way French readers expect.
package money

import (
	"strconv"
	"strings"
)

// EUR formats cents as "1 234,50 €", with no-break spaces so that a price
// never wraps between its digits and its sign.
func EUR(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	euros := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, d := range euros {
		if i > 0 && (len(euros)-i)%3 == 0 {
			b.WriteString("\u00a0")
		}
		b.WriteRune(d)
	}
	c := cents % 100
	b.WriteString(",")
	if c < 10 {
		b.WriteString("0")
	}
	b.WriteString(strconv.FormatInt(c, 10))
	b.WriteString("\u00a0€")
	return b.String()
}
