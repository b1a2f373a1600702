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

// Parse reads an amount of euros typed by a person, the French or the
// English way ("35", "35,5", "35,50 €", "1 234,50", "35.50"), as cents.
func Parse(s string) (int64, bool) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "€"))
	s = strings.NewReplacer("\u202f", "", "\u00a0", "", " ", "").Replace(s)
	s = strings.Replace(s, ",", ".", 1)
	units, frac, _ := strings.Cut(s, ".")
	if units == "" || len(frac) > 2 || strings.ContainsAny(units+frac, ".-+") {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	u, err1 := strconv.ParseInt(units, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || u < 0 || u > 1_000_000 || f < 0 {
		return 0, false
	}
	return u*100 + f, true
}

// Input writes cents for a form's field, as the reader types them: "35,00"
// with a decimal comma, "35.00" without.
func Input(cents int64, comma bool) string {
	s := strconv.FormatInt(cents/100, 10) + "." + strconv.FormatInt(100+cents%100, 10)[1:]
	if comma {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}
