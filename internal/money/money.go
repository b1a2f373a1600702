// Package money reads amounts of euros people type, writes them back into
// forms, and spells them out in French words (tax receipts); i18n.Money
// writes them everywhere else.
package money

import (
	"strconv"
	"strings"
)

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
