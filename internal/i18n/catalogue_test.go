package i18n_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/inventory"
)

var (
	templateKey = regexp.MustCompile(`[({ ]t\s+"((?:[^"\\]|\\.)*)"`)
	// goKey finds what Go code says through the catalogue: T's key, a
	// link's label, and the message a page's form says once done (kept in
	// msg, or given to once and submit just before their action).
	goKey    = regexp.MustCompile(`(?:\.T\(|Label:\s*|\bmsg :?= )"((?:[^"\\]|\\.)*)"|\b(?:once|submit)\([^\n]*?"((?:[^"\\]|\\.)*)", func\(\)`)
	namedKey = regexp.MustCompile(`^[a-z_]+(\.[a-z0-9_-]*)+$`)
)

// TestEverySentenceIsInFrench walks the templates and the Go code for the
// messages they say through the catalogue, and fails on one the French
// catalogue lacks (it would show in English on a French page) or a named
// key the English one lacks (it would show as a key).
func TestEverySentenceIsInFrench(t *testing.T) {
	root := filepath.Join("..", "..")
	keys := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bench" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		var re *regexp.Regexp
		switch {
		case strings.HasSuffix(path, ".html"):
			re = templateKey
		case strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go"):
			re = goKey
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			key := strings.Join(m[1:], "") // the one group that matched
			if key == "" || strings.HasSuffix(key, ".") && namedKey.MatchString(key) {
				continue // no message, or a prefix completed at run time: the enumerations below
			}
			keys[strings.ReplaceAll(key, `\"`, `"`)] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 200 {
		t.Fatalf("only %d messages found: is the walk looking in the right place?", len(keys))
	}
	// The enumerations pages say by a prefix and a value.
	for _, s := range inventory.States {
		keys["state."+string(s)] = "inventory.States"
	}
	for _, c := range inventory.Categories {
		keys["category."+string(c)] = "inventory.Categories"
		keys["sms."+string(c)] = "inventory.Categories, in messages to people"
		keys["sms.a."+string(c)] = "inventory.Categories, in messages to people"
	}
	for _, a := range []string{"register", "diagnose", "erase", "send_to_repair", "mark_ready", "recycle", "mark_lost", "ship", "receive", "sell", "refund"} {
		keys["action."+a] = "device events"
	}
	for _, a := range inventory.Actions() {
		keys["do."+a] = "inventory.Actions"
	}
	for key, where := range keys {
		if !i18n.Translated(key) {
			t.Errorf("%s: %q has no French", where, key)
		}
		if namedKey.MatchString(key) && !i18n.Named(key) {
			t.Errorf("%s: named key %q has no English", where, key)
		}
	}
}

func TestFormats(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	reunion, _ := time.LoadLocation("Indian/Reunion")
	at := time.Date(2026, 12, 23, 21, 5, 0, 0, time.UTC)
	for _, c := range []struct{ got, want string }{
		{i18n.French.Money(3500), "35,00\u202f€"},
		{i18n.French.Money(123456), "1\u202f234,56\u202f€"},
		{i18n.French.Money(-5), "-0,05\u202f€"},
		{i18n.English.Money(123456), "€1,234.56"},
		{i18n.French.Number(1234567), "1\u202f234\u202f567"},
		{i18n.French.Date(at, paris), "23/12/2026"},
		{i18n.French.Clock(at, paris), "22:05"},
		// La Réunion is already on the next day.
		{i18n.French.DateTime(at, reunion), "24/12/2026 01:05"},
		{i18n.French.ISODate("2026-12-23"), "23/12/2026"},
		{i18n.French.T("Hello %s", "Zoé"), "Bonjour Zoé"},
		{i18n.English.T("Hello %s", "Zoé"), "Hello Zoé"},
		{i18n.English.T("state.in_stock"), "In stock"},
		// Years and codes never gain a thousands separator.
		{i18n.French.T("Donation #%d", 2026), "Don n° 2026"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		setting, accept string
		want            i18n.Lang
	}{
		{"", "", i18n.French},
		{"", "en-GB,en;q=0.9", i18n.English},
		{"", "fr-FR,fr;q=0.9,en;q=0.8", i18n.French},
		{"", "de-DE", i18n.French},
		{"fr", "en-US", i18n.French},
		{"en", "fr-FR", i18n.English},
		{"xx", "en", i18n.English},
	} {
		if got := i18n.Choose(c.setting, c.accept); got != c.want {
			t.Errorf("Choose(%q, %q) = %s, want %s", c.setting, c.accept, got, c.want)
		}
	}
}

// TestCountsAgree: a message said with TN takes its « one » form for one
// thing (French: zero too) and its usual form otherwise; every « one » form
// has its usual form in the catalogue.
func TestCountsAgree(t *testing.T) {
	for _, c := range []struct {
		l    i18n.Lang
		n    int64
		want string
	}{
		{i18n.French, 1, "1 appareil enregistré depuis le fichier."},
		{i18n.French, 0, "0 appareil enregistré depuis le fichier."},
		{i18n.French, 2, "2 appareils enregistrés depuis le fichier."},
		{i18n.English, 1, "1 device registered from the file."},
		{i18n.English, 0, "0 devices registered from the file."},
	} {
		if got := c.l.TN(c.n, "%d devices registered from the file.", c.n); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.l, c.n, got, c.want)
		}
	}
	for n, want := range map[int64]string{0: "0 appareil", 1: "1 appareil", 2: "2 appareils", 2026: "2026 appareils"} {
		if got := i18n.French.TN(n, "%d devices", n); got != want {
			t.Errorf("French %d: %q, want %q", n, got, want)
		}
	}
	if got := i18n.English.TN(1, "%d devices", 1); got != "1 device" {
		t.Errorf("English 1: %q", got)
	}
	if got := i18n.French.TN(1, "%d (%d valid)", 3, 1); got != "3 (1 valable)" {
		t.Errorf("vouchers: %q", got)
	}
	for _, key := range i18n.OneFormKeys() {
		if !i18n.Translated(key) {
			t.Errorf("the « one » form of %q has no usual French form", key)
		}
	}
}

// TestCatalogueSaysEveryKeyInBothLanguages: every message of the catalogue
// has its French and its English, said as the tables write them (the
// catalogue changes no character of a message).
func TestCatalogueSaysEveryKeyInBothLanguages(t *testing.T) {
	keys := i18n.Keys()
	if len(keys) < 500 {
		t.Fatalf("only %d keys in the catalogue", len(keys))
	}
	for _, key := range keys {
		if !i18n.Translated(key) {
			t.Errorf("%q has no French", key)
		}
		if namedKey.MatchString(key) && !i18n.Named(key) {
			t.Errorf("named key %q has no English", key)
		}
		fr, en := i18n.French.T(key), i18n.English.T(key)
		if want := i18n.FrenchOf(key); fr != want {
			t.Errorf("%q: the catalogue says %q, the table %q", key, fr, want)
		}
		if en == "" && key != "state." {
			t.Errorf("%q has an empty English", key)
		}
	}
	for _, m := range i18n.Missed() {
		if i18n.Translated(m) {
			t.Errorf("the catalogue's own %q reported missing", m)
		}
	}
}

// TestMissedNotesWhatTheCatalogueLacks: a message the catalogue lacks is
// said as its key, and noted, once.
func TestMissedNotesWhatTheCatalogueLacks(t *testing.T) {
	const key = "a message no table has: %d"
	for range 3 {
		if got := i18n.French.T(key, 7); got != "a message no table has: 7" {
			t.Fatalf("missing message said %q", got)
		}
	}
	n := 0
	for _, m := range i18n.Missed() {
		if m == key {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("Missed lists %q %d times: %q", key, n, i18n.Missed())
	}
}
