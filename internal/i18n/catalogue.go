package i18n

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message/catalog"
)

// The tables in messages.go are loaded once into x/text's catalogue, which
// answers every lookup: each message in French and in English, and for a
// message said of a count its plural forms, chosen by the language's CLDR
// rules (French says « 0 appareil », English "0 devices"). The catalogue
// hands back a format; arguments are then formatted with fmt, so that codes
// and years never gain a thousands separator.
var catalogue = load()

var tags = map[Lang]language.Tag{French: language.French, English: language.English}

func load() *catalog.Builder {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	for _, key := range Keys() {
		en := key // a sentence is its own English
		if e, ok := english[key]; ok {
			en = e
		}
		set(b, language.English, key, en, englishOne[key])
		if fr, ok := french[key]; ok { // else said in English, and noted
			set(b, language.French, key, fr, frenchOne[key])
		}
	}
	return b
}

// set puts one message in the catalogue, with its « one » form if it has
// one (selected on the count, the renderer's first argument).
func set(b *catalog.Builder, tag language.Tag, key, msg, one string) {
	var err error
	if one != "" {
		err = b.Set(tag, key, plural.Selectf(1, "%d", plural.One, one, plural.Other, msg))
	} else {
		err = b.Set(tag, key, catalog.String(msg))
	}
	if err != nil {
		panic(fmt.Sprintf("i18n: message %q: %v", key, err))
	}
}

// Keys are every message of the catalogue, sorted.
func Keys() []string {
	set := map[string]bool{}
	for k := range french {
		set[k] = true
	}
	for k := range english {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// format is what the catalogue says for key in l, counting n (plural
// forms), or false when it has no such message.
func (l Lang) format(key string, n any) (string, bool) {
	tag, ok := tags[l]
	if !ok {
		tag = language.English
	}
	r := &renderer{count: n}
	if err := catalogue.Context(tag, r).Execute(key); err != nil {
		return "", false
	}
	return r.out, true
}

// renderer receives the message the catalogue chose; its one argument is
// the count a plural form is chosen by.
type renderer struct {
	out   string
	count any
}

func (r *renderer) Render(s string) { r.out += s }

func (r *renderer) Arg(i int) any {
	if i == 1 {
		return r.count
	}
	return nil
}

// formats caches each language's resolved messages that have no plural
// forms: a page says hundreds, and the catalogue's lookup matches the
// language each time.
var formats = map[Lang]*sync.Map{French: {}, English: {}}

// missed are the messages asked for that the catalogue lacks (said in
// English as their key): a test walks the French pages and fails on any.
// At most maxMissed are kept: a key built from data must not grow it.
var (
	missed      sync.Map
	missedCount atomic.Int64
)

const maxMissed = 256

// Missed lists the messages asked for that the catalogue lacks, sorted.
func Missed() []string {
	var out []string
	missed.Range(func(k, _ any) bool { out = append(out, k.(string)); return true })
	sort.Strings(out)
	return out
}

func (l Lang) lookup(key string) string {
	cache := formats[l]
	if cache == nil {
		cache = formats[English] // as format says a language it lacks
	}
	if f, ok := cache.Load(key); ok {
		return f.(string)
	}
	f, ok := l.format(key, nil)
	if !ok {
		if missedCount.Load() < maxMissed {
			if _, had := missed.LoadOrStore(key, true); !had {
				missedCount.Add(1)
			}
		}
		return key
	}
	cache.Store(key, f)
	return f
}
