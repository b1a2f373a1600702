// Package i18n says the web UI in the reader's language: one catalogue of
// every sentence a person reads (French first, English second), and the
// formats of money, numbers, dates and times.
//
// The catalogue is x/text's (golang.org/x/text/message/catalog), loaded
// from the tables in messages.go: every message in French and English, with
// plural forms chosen by CLDR's rules. Sentences are keyed by their English
// format, enumerations by a name ("state.ready"); tests fail on a key the
// code says that either language lacks, and on a French page that shows a
// message the catalogue was never asked for. Arguments are formatted with
// fmt, not with a locale-aware printer: codes, years and ids must never gain
// a thousands separator ("2 026"); quantities go through Number.
package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Lang is a language of the UI.
type Lang string

const (
	French  Lang = "fr"
	English Lang = "en"
)

// Langs lists the UI's languages, the default first.
var Langs = []Lang{French, English}

// Parse accepts "fr" or "en".
func Parse(s string) (Lang, bool) {
	for _, l := range Langs {
		if string(l) == s {
			return l, true
		}
	}
	return "", false
}

var matcher = language.NewMatcher([]language.Tag{language.French, language.English})

// Choose is the language of a page: the person's setting, else the
// browser's Accept-Language, else French.
func Choose(setting, acceptLanguage string) Lang {
	if l, ok := Parse(setting); ok {
		return l
	}
	if acceptLanguage == "" {
		return French
	}
	_, i := language.MatchStrings(matcher, acceptLanguage)
	return Langs[i]
}

// Name is how a language calls itself, for the switch in the top bar.
func (l Lang) Name() string {
	if l == English {
		return "English"
	}
	return "Français"
}

// T says a message in the language, formatting its arguments like
// fmt.Sprintf. A message the catalogue lacks is said as its key (English)
// and noted in Missed.
func (l Lang) T(key string, args ...any) string {
	return sprintf(l.lookup(key), args)
}

// TN says a message whose words follow a count n: the catalogue chooses
// its plural form by the language's rules (French: « 0 appareil », « 1
// appareil », « 2 appareils »; English: "0 devices", "1 device"). The
// message's arguments are args.
func (l Lang) TN(n int64, key string, args ...any) string {
	_, fr := frenchOne[key]
	if _, en := englishOne[key]; !fr && !en {
		return l.T(key, args...)
	}
	f, ok := l.format(key, n)
	if !ok {
		f = key
	}
	return sprintf(f, args)
}

func sprintf(format string, args []any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Allowance says a number of devices and of recharges, each word
// agreeing with its number: « 1 appareil, 2 recharges ».
func (l Lang) Allowance(devices, recharges int64) string {
	return l.TN(devices, "%d devices", devices) + ", " + l.TN(recharges, "%d recharges", recharges)
}

// Sentence starts a message with a capital, for a reason said after a
// full stop (« TEL-00001 : non fait. Il est… »): the catalogue's reasons
// begin in lower case, to follow a colon as well.
func Sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// FrenchOf is the French table's text of key ("" without one), for the
// tests that compare it with what the catalogue says.
func FrenchOf(key string) string { return french[key] }

// Translated tells whether the French catalogue has key.
func Translated(key string) bool {
	_, ok := french[key]
	return ok
}

// nnbsp is the narrow no-break space French puts between thousands and
// before the euro sign.
const nnbsp = "\u202f"

// Number writes a count with the language's thousands separator.
func (l Lang) Number(n int64) string {
	sep := ","
	if l == French {
		sep = nnbsp
	}
	return group(n, sep)
}

func group(n int64, sep string) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Money writes an amount in cents of euro: "1 234,50 €" in French,
// "€1,234.50" in English.
func (l Lang) Money(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	units, rest := cents/100, cents%100
	var s string
	if l == French {
		s = fmt.Sprintf("%s,%02d%s€", group(units, nnbsp), rest, nnbsp)
	} else {
		s = fmt.Sprintf("€%s.%02d", group(units, ","), rest)
	}
	if neg {
		return "-" + s
	}
	return s
}

// Date writes a day in the given zone: 23/12/2026, or 23 Dec 2026.
func (l Lang) Date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = in(t, loc)
	if l == French {
		return t.Format("02/01/2006")
	}
	return t.Format("2 Jan 2006")
}

// Clock writes a time of day in the given zone, 14:05.
func (l Lang) Clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return in(t, loc).Format("15:04")
}

// DateTime writes a day and a time: 23/12/2026 14:05, or 23 Dec 2026, 14:05.
func (l Lang) DateTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if l == French {
		return l.Date(t, loc) + " " + l.Clock(t, loc)
	}
	return l.Date(t, loc) + ", " + l.Clock(t, loc)
}

// ISODate writes a calendar day kept as text (2026-12-23) the language's way.
func (l Lang) ISODate(iso string) string {
	d, err := time.Parse(time.DateOnly, iso)
	if err != nil {
		return iso
	}
	return l.Date(d, time.UTC)
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t
	}
	return t.In(loc)
}

// Named tells whether key is a named key (such as "state.ready") that the
// English catalogue says; sentences need no English entry.
func Named(key string) bool {
	_, ok := english[key]
	return ok
}

// OneFormKeys are the messages that have a « one » form, for the tests.
func OneFormKeys() []string {
	keys := make([]string, 0, len(frenchOne))
	for k := range frenchOne {
		keys = append(keys, k)
	}
	return keys
}
