package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/tremplin/tremplin/internal/i18n"

	"golang.org/x/net/html"

	"github.com/tremplin/tremplin/distribution"
	"github.com/tremplin/tremplin/internal/testenv"
	"github.com/tremplin/tremplin/inventory"
	"github.com/tremplin/tremplin/partners"
)

// frenchWords are common French words no English page has: one left on a
// page in English is a sentence the catalogue missed.
var frenchWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`le la les des du une est et pour avec sur dans aucun aucune appareil appareils bon bons
		personne personnes vente ventes enregistrer imprimer nouveau nouvelle chercher rechercher créer étiquette étiquettes
		entrepôt espace réseau utilisateur utilisateurs mot passe état prix fichier ligne lignes jour jours ici votre vos ses
		son pas plus déjà être été cette ces qui que où au aux dons caisse clôture transfert transferts
		valable valables vendu vendus annuler retour suivant précédent oui non numéro date reçu reçus effacé prêt
		catégorie catégories modèle marque série rembourser remboursé espèces carte gratuit bonjour déconnecter`) {
		frenchWords[w] = true
	}
}

// TestEveryPageInEnglish signs in as each role of the demo network with
// English chosen, walks every page reachable from the menus and the pages'
// own links (and a few refused forms and error pages), and fails on a
// French word or letter left in what a person reads, once the network's own
// data (names, addresses, models, notes: French here) is set aside. Every
// page route must have been walked.
func TestEveryPageInEnglish(t *testing.T) {
	// The PDFs are left out: documents are French whatever the page's
	// language (they go to people, donors and the tax office in France).
	walkEveryPage(t, "en", false, func(where, text string, data *regexp.Regexp) {
		checkEnglish(t, where, text, data)
	})
}

// TestEveryPageInFrench walks every page as TestEveryPageInEnglish does,
// in French, with the PDFs the pages link to: it fails on an English word
// left in what a person reads (a message said without the catalogue), and
// on a message the pages asked the catalogue for that it lacks.
func TestEveryPageInFrench(t *testing.T) {
	walkEveryPage(t, "fr", true, func(where, text string, data *regexp.Regexp) {
		t.Helper()
		if english := englishIn(withoutData(text, data)); len(english) > 0 {
			t.Errorf("%s in French still reads %q in:\n%s", where, english, strings.Join(strings.Fields(text), " "))
		}
	})
	if missed := i18n.Missed(); len(missed) > 0 {
		t.Errorf("messages said without a French entry (shown in English): %q", missed)
	}
}

// englishWords are common English words no French page has.
var englishWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the and with must cannot already been not this that these those your from which when
		there their should would could will has have was were are is it its of to by or no yes any none nothing found
		missing choose enter print save back next previous device devices voucher vouchers sold sale sales warehouse
		shelf stock's recharge's person people receipt receipts refund refunds transfer transfers label labels
		new search name first last year years day days month months week here only still yet`) {
		englishWords[w] = true
	}
}

// englishIn returns the English words in text; codes (a digit, a voucher's
// shape, capitals only: the station's commands) are set aside as frenchIn
// does.
func englishIn(text string) []string {
	var english []string
	for _, word := range strings.Fields(text) {
		if strings.ContainsFunc(word, unicode.IsDigit) || codeShaped.MatchString(word) {
			continue
		}
		for _, w := range strings.FieldsFunc(word, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
			if len(w) > 1 && strings.ToUpper(w) == w {
				continue
			}
			if englishWords[strings.ToLower(w)] {
				english = append(english, w)
			}
		}
	}
	return english
}

// walkEveryPage signs in as each role of the demo network in lang, walks
// every page reachable from the menus and the pages' own links, a few
// refused forms and error pages, and (withPDFs) the PDFs the pages link to,
// and hands check what a person reads on each. Every page route must have
// been walked.
func walkEveryPage(t *testing.T, lang string, withPDFs bool, check func(where, text string, data *regexp.Regexp)) {
	h, svc, routes := newTestRouter(t)
	net, _, _ := demoAccount(t, svc, "admin@demo.tremplin.local")
	extra := seedForTheWalk(t, svc)
	data := dataPattern(dataStrings(t, svc))

	visited := map[string]bool{}
	pdfs := map[string]bool{}
	for _, a := range net.Accounts {
		cookie := webLogin(t, h, a.Email, a.Password)
		if status, _, _ := exchange(t, h, "POST", "/langue", url.Values{"lang": {lang}, "next": {"/"}}, cookie); status != http.StatusSeeOther {
			t.Fatalf("%s: choosing %s answered %d", a.Email, lang, status)
		}
		queue := append([]string{"/", "/compte", "/appareils/NOPE-0", "/bons/ABCD-EFGH-JKLM", "/personnes/999999", "/transferts/999999"}, extra...)
		seen := map[string]bool{}
		for len(queue) > 0 && len(seen) < 200 {
			path := queue[0]
			queue = queue[1:]
			if seen[path] {
				continue
			}
			seen[path] = true
			status, text, links := readPage(t, h, "GET", path, nil, cookie)
			if status >= 500 {
				t.Errorf("%s %s: %d", a.Role, path, status)
			}
			check(string(a.Role)+" "+path, text, data)
			visited[strings.SplitN(path, "?", 2)[0]] = true
			for _, l := range links {
				if strings.HasSuffix(strings.SplitN(l, "?", 2)[0], ".pdf") {
					if withPDFs && !pdfs[l] {
						pdfs[l] = true
						if status, kind, body := exchange(t, h, "GET", l, nil, cookie); status == http.StatusOK && kind == "application/pdf" {
							check(string(a.Role)+" "+l, testenv.PDFText(t, []byte(body)), data)
						}
					}
					continue
				}
				if !seen[l] {
					queue = append(queue, l)
				}
			}
		}
		t.Logf("%s: %d pages walked in %s", a.Role, len(seen), lang)
		// Refused forms: the reasons are in the language too.
		for _, f := range []struct {
			path string
			form url.Values
		}{
			{"/bons", url.Values{"first_name": {"Zoé"}, "birth_year": {"abc"}}},
			{"/admin/organisations", url.Values{"kind": {"space"}, "name": {""}, "timezone": {"Mars/Olympus"}}},
			{"/admin/utilisateurs", url.Values{"name": {"X"}, "email": {"x"}, "role": {"prescriber"}, "organization_id": {"1"}}},
			{"/compte/mot-de-passe", url.Values{"current_password": {"wrong one!"}, "password": {"short"}, "password_again": {"other"}}},
			{"/poste", url.Values{"code": {"356938035643810"}}},
			{"/admin/prix", url.Values{"price_smartphone_A": {"lots"}}},
		} {
			status, text, _ := readPage(t, h, "POST", f.path, f.form, cookie)
			if status >= 500 {
				t.Errorf("%s POST %s: %d", a.Role, f.path, status)
			}
			check(string(a.Role)+" POST "+f.path, text, data)
		}
	}
	if withPDFs && len(pdfs) < 10 {
		t.Errorf("the walk read only %d PDFs", len(pdfs))
	}
	t.Logf("%d PDFs read in %s", len(pdfs), lang)
	// The login page and its refusal, before anyone signs in.
	req, _ := http.NewRequest("POST", h.URL+"/login", strings.NewReader("email=nobody%40example.org&password=nothing"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", map[string]string{"en": "en-GB,en;q=0.9", "fr": "fr-FR,fr;q=0.9"}[lang])
	resp, err := h.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := visibleText(t, resp.Body)
	resp.Body.Close()
	check("POST /login", text, data)

	// Every page route was walked, so that a new page cannot escape.
	var missed []string
	for _, r := range routes() {
		method, pattern, _ := strings.Cut(r, " ")
		if method != "GET" || strings.HasPrefix(pattern, "/api") || strings.HasPrefix(pattern, "/static") ||
			regexp.MustCompile(`\.(pdf|csv|json)$|^/(healthz|readyz|metrics|login)$`).MatchString(pattern) {
			continue
		}
		re := regexp.MustCompile("^" + ginParam.ReplaceAllStringFunc(pattern, func(p string) string {
			if p[0] == '*' {
				return ".*"
			}
			return "[^/]+"
		}) + "$")
		if !slices.ContainsFunc(mapKeys(visited), re.MatchString) {
			missed = append(missed, pattern)
		}
	}
	if len(missed) > 0 {
		t.Errorf("page routes the walk in %s never reached: %v", lang, missed)
	}
}

// seedForTheWalk adds what the demo lacks for some pages to exist: a sale
// and a stock check (whose page no other page links to).
func seedForTheWalk(t *testing.T, svc *app) []string {
	t.Helper()
	ctx := context.Background()
	admin := partners.Caller{Role: partners.RoleAdmin}
	var paris int64
	svc.db.Table("users").Where("email = ?", "belleville@demo.tremplin.local").Pluck("organization_id", &paris)
	var code string
	svc.db.Table("vouchers v").Joins("JOIN beneficiaries b ON b.id = v.beneficiary_id").Where("b.first_name = ?", "Aïcha").Pluck("v.code", &code)
	var phone inventory.Device
	if err := svc.db.DB.Where("site_id = ? AND state = ? AND category = ?", paris, inventory.InStock, inventory.Smartphone).Take(&phone).Error; err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.distribution.Sell(ctx, admin, "walk", distribution.SaleRequest{SiteID: paris, VoucherCode: code, PaymentMethod: "cash",
		Items: []distribution.SaleItem{{DeviceID: phone.ID}}}); err != nil {
		t.Fatal(err)
	}
	var warehouse int64
	svc.db.Table("users").Where("email = ?", "entrepot@demo.tremplin.local").Pluck("organization_id", &warehouse)
	check, err := svc.inventory.CheckStock(ctx, admin, warehouse, []string{"TEL-99999"})
	if err != nil {
		t.Fatal(err)
	}
	// The demo's laptop waiting for its report gets one; its donation's
	// certificate is issued, for their pages.
	var laptop inventory.Device
	if err := svc.db.DB.Where("state = ? AND category = ?", inventory.Diagnosed, inventory.Laptop).Take(&laptop).Error; err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile("../../inventory/erasurereport/testdata/nwipe-passed.log")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.inventory.UploadErasureReport(ctx, admin, laptop.ID, inventory.ReportFile{Name: "nwipe.log", Bytes: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.inventory.ErasureCertificate(ctx, admin, laptop.DonationID, "http://tremplin.test"); err != nil {
		t.Fatal(err)
	}
	var cert string
	svc.db.Table("erasure_certificates").Order("id DESC").Limit(1).Pluck("code", &cert)
	return []string{fmt.Sprintf("/inventaire/%d/%d", warehouse, check.ID), fmt.Sprintf("/appareils/%s/rapports/%d", laptop.Tag, rep.ID),
		"/certificats/" + cert}
}

// dataStrings are the text values the database holds (names, addresses,
// models, notes, JSON event data): the network's data, which a page shows
// as it was typed, in whatever language.
func dataStrings(t *testing.T, svc *app) []string {
	t.Helper()
	db := svc.db.DB
	tables, err := db.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, table := range tables {
		cols, err := db.Migrator().ColumnTypes(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cols {
			kind := strings.ToUpper(c.DatabaseTypeName())
			if !strings.Contains(kind, "TEXT") && !strings.Contains(kind, "CHAR") && !strings.Contains(kind, "JSON") {
				continue
			}
			var vals []string
			db.Table(table).Distinct(c.Name()).Where(c.Name()+" IS NOT NULL").Pluck(c.Name(), &vals)
			for _, v := range vals {
				// JSON: each quoted string inside too.
				for _, part := range append([]string{v}, strings.Split(v, `"`)...) {
					if part = strings.TrimSpace(part); len([]rune(part)) >= 2 {
						set[part] = true
					}
				}
			}
		}
	}
	// Text people typed: three letters or more, with a capital, a space or
	// a letter outside ASCII (enumerations and JSON keys are lowercase
	// ASCII, and English).
	var out []string
	for s := range set {
		if len([]rune(s)) >= 3 && strings.IndexFunc(s, func(r rune) bool { return unicode.IsUpper(r) || r == ' ' || r > unicode.MaxASCII }) >= 0 {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) }) // longest first
	return out
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// properNames are places and languages an English page names as they are.
var properNames = []string{"La Réunion", "Saint Barthélemy", "Français"}

// dataPattern matches the data's strings and the proper names as whole
// words.
func dataPattern(data []string) *regexp.Regexp {
	alts := make([]string, 0, len(data)+len(properNames))
	for _, d := range append(slices.Clone(properNames), data...) {
		alts = append(alts, regexp.QuoteMeta(d))
	}
	return regexp.MustCompile(`(^|[^\pL\pN])(?:` + strings.Join(alts, "|") + `)([^\pL\pN]|$)`)
}

// withoutData blanks the data's strings and the proper names where they
// stand as whole words.
func withoutData(text string, re *regexp.Regexp) string {
	for range 2 { // a boundary consumed by one match hides the next
		text = re.ReplaceAllString(text, "$1 $2")
	}
	return text
}

// checkEnglish fails on French words or letters left in a page's text once
// the data and proper names are set aside.
func checkEnglish(t *testing.T, where, text string, data *regexp.Regexp) {
	t.Helper()
	text = withoutData(text, data)
	if french := frenchIn(text); len(french) > 0 {
		t.Errorf("%s in English still reads %q in:\n%s", where, french, strings.Join(strings.Fields(text), " "))
	}
}

var codeShaped = regexp.MustCompile(`[A-Z0-9]{4}-[A-Z0-9]{4}`)

// frenchIn returns the French words or letters in text. A word with a digit
// in it, or shaped like a voucher code, is a code, a serial or a date
// ("T2ET" in voucher P23A-GNP2-T2ET is not the French "et"): it is set aside.
func frenchIn(text string) []string {
	var french []string
	for _, word := range strings.Fields(text) {
		if strings.ContainsFunc(word, unicode.IsDigit) || codeShaped.MatchString(word) {
			continue
		}
		for _, w := range strings.FieldsFunc(word, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }) {
			lw := strings.ToLower(strings.Trim(w, "'"))
			if frenchWords[lw] || strings.ContainsAny(lw, "éèêàçôûùœ") {
				french = append(french, w)
			}
		}
	}
	return french
}

func TestFrenchInSetsCodesAside(t *testing.T) {
	for text, want := range map[string][]string{
		"Voucher P23A-GNP2-T2ET Active":      nil,
		"Voucher ABCD-EFGH-JKET Active":      nil,
		"Serial SN-ET42, sold 4 Feb 2027":    nil,
		"Devices et recharges":               {"et"},
		"Print the voucher (reçu) and leave": {"reçu"},
		"Bon: la personne, 2 appareils.":     {"Bon", "la", "personne", "appareils"},
	} {
		if got := frenchIn(text); !slices.Equal(got, want) {
			t.Errorf("frenchIn(%q) = %q, want %q", text, got, want)
		}
	}
}

// readPage requests a page and returns its status, visible text and the
// site's own page links.
func readPage(t *testing.T, h *testenv.HTTP, method, path string, form url.Values, cookie *http.Cookie) (int, string, []string) {
	t.Helper()
	status, contentType, body := exchange(t, h, method, path, form, cookie)
	if !strings.HasPrefix(contentType, "text/html") {
		return status, "", nil
	}
	text, links := visibleText(t, strings.NewReader(body))
	return status, text, links
}

// visibleText is what a person reads on a page (text, labels for screen
// readers, placeholders), leaving out scripts and what is marked as
// French on purpose (lang="fr"); links are the site's pages and PDFs it
// links to.
func visibleText(t *testing.T, r io.Reader) (string, []string) {
	doc, err := html.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var links []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "style" {
				return
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "lang":
					if n.Data != "html" { // said in its own language on purpose
						return
					}
				case "aria-label", "placeholder", "title", "alt":
					fmt.Fprintf(&b, " %s ", a.Val)
				case "href":
					if n.Data == "a" && strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "//") &&
						!regexp.MustCompile(`\.(csv|json)(\?|$)|^/static/|^/api/`).MatchString(a.Val) {
						links = append(links, strings.SplitN(a.Val, "#", 2)[0])
					}
				}
			}
		}
		if n.Type == html.TextNode {
			fmt.Fprintf(&b, " %s ", n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return b.String(), links
}
