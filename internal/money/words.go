package money

import "strings"

// FrenchWords writes an amount in euros in words, as a tax receipt asks it
// (« montant en toutes lettres »): « mille deux cent trente-quatre euros et
// cinquante centimes », in the traditional spelling (hyphens under a
// hundred, « et » in 21, 31… 71, « quatre-vingts » and « deux cents » that
// take their s only at the end of the number, « mille » invariable).
func FrenchWords(cents int64) string {
	if cents < 0 {
		return "moins " + FrenchWords(-cents)
	}
	euros, c := cents/100, cents%100
	var b strings.Builder
	switch {
	case euros == 0 && c > 0:
	case euros == 1:
		b.WriteString("un euro")
	case euros >= 1_000_000 && euros%1_000_000 == 0:
		b.WriteString(words(euros) + " d'euros")
	default:
		b.WriteString(words(euros) + " euros")
	}
	if c > 0 {
		if b.Len() > 0 {
			b.WriteString(" et ")
		}
		b.WriteString(words(c))
		if c == 1 {
			b.WriteString(" centime")
		} else {
			b.WriteString(" centimes")
		}
	}
	return b.String()
}

var units = []string{"zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
	"onze", "douze", "treize", "quatorze", "quinze", "seize"}

var tens = []string{"", "dix", "vingt", "trente", "quarante", "cinquante", "soixante"}

// words writes a whole number; last tells a group that ends the number
// (where « cents » and « quatre-vingts » keep their s).
func words(n int64) string {
	if n == 0 {
		return "zéro"
	}
	type scale struct {
		value int64
		name  string
		noun  bool // million and milliard are nouns: « deux millions »
	}
	var parts []string
	for _, s := range []scale{{1_000_000_000, "milliard", true}, {1_000_000, "million", true}, {1000, "mille", false}} {
		q := n / s.value
		n %= s.value
		switch {
		case q == 0:
		case !s.noun && q == 1:
			parts = append(parts, "mille")
		case !s.noun:
			parts = append(parts, below1000(q, false)+" mille")
		case q == 1:
			parts = append(parts, "un "+s.name)
		default:
			parts = append(parts, below1000(q, true)+" "+s.name+"s")
		}
	}
	if n > 0 {
		parts = append(parts, below1000(n, true))
	}
	return strings.Join(parts, " ")
}

// below1000 writes 1 to 999; last is false before « mille ».
func below1000(n int64, last bool) string {
	h, r := n/100, n%100
	var out string
	switch {
	case h == 1:
		out = "cent"
	case h > 1:
		out = units[h] + " cent"
		if r == 0 && last {
			out += "s"
		}
	}
	if r > 0 {
		if out != "" {
			out += " "
		}
		out += below100(r, last)
	}
	return out
}

func below100(n int64, last bool) string {
	switch {
	case n <= 16:
		return units[n]
	case n < 20:
		return "dix-" + units[n-10]
	case n < 70:
		t, u := n/10, n%10
		switch u {
		case 0:
			return tens[t]
		case 1:
			return tens[t] + " et un"
		}
		return tens[t] + "-" + units[u]
	case n < 80:
		if n == 71 {
			return "soixante et onze"
		}
		return "soixante-" + below100(n-60, last)
	case n == 80:
		if last {
			return "quatre-vingts"
		}
		return "quatre-vingt"
	}
	return "quatre-vingt-" + below100(n-80, last)
}
