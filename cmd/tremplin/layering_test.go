package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDomainsImportDownward keeps the layering: figures (the ledger the
// domains write in their transactions) below them all; partners at the
// bottom of the domains; recharges, then inventory (its transfers call
// recharges) above it; distribution above them; reports, demo and services
// (the one builder of the services' graph) read the others and no domain
// imports them. Above the domains, the HTTP layer: api (JSON handlers),
// then ui (pages, which read requests as the API does); testnet (a whole
// network, for tests) builds on both; internal/ imports no domain. No
// domain imports gin or the HTTP plumbing (internal/httpx, internal/web).
func TestDomainsImportDownward(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "github.com/tremplin/tremplin/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/tremplin/tremplin/"
	edges := 0
	level := map[string]int{"figures": 0, "partners": 1, "recharges": 2, "accessories": 2, "inventory": 3, "distribution": 4, "reports": 5, "demo": 5, "services": 5,
		"api": 6, "ui": 7, "testnet": 8, "cmd/tremplin": 9}
	http := map[string]bool{"github.com/gin-gonic/gin": true, mod + "internal/httpx": true, mod + "internal/web": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		from := strings.TrimPrefix(pkg, mod)
		for _, imp := range strings.Fields(imports) {
			if lf, ok := level[from]; ok && lf <= level["services"] && http[imp] {
				t.Errorf("%s imports %s: a domain knows no HTTP; pages go in ui/, handlers in api/", from, imp)
			}
			to, ok := strings.CutPrefix(imp, mod)
			if !ok {
				continue
			}
			lf, fromDomain := level[from]
			lt, toDomain := level[to]
			switch {
			case strings.HasPrefix(from, "internal/") && toDomain:
				t.Errorf("%s (plumbing) imports the domain %s", from, to)
			case fromDomain && toDomain && lt >= lf:
				t.Errorf("%s imports %s: packages import downward only", from, to)
			case fromDomain && toDomain:
				edges++
			}
		}
	}
	if edges < 10 {
		t.Fatalf("only %d imports between domains read: the listing changed shape", edges)
	}
}

// TestDomainsNeverAskTheEngine: the engines' differences live in
// internal/database (row locks, SKIP LOCKED, long IN lists, the blob type,
// an update and the insert that follows it, the batch of last writes) and
// the journal's and figures' own plumbing; a domain says what it needs,
// never which engine it runs on. One place still chooses a whole strategy
// by engine, named here with why: the operator file's import (COPY through
// pgx straight into the cards, a staging table checked in SQL on SQLite,
// whose one writer must not wait on the file).
func TestDomainsNeverAskTheEngine(t *testing.T) {
	allowed := map[string]int{"recharges/import.go": 2}
	asks := regexp.MustCompile(`\.Engine [!=]= database\.|Dialector\.Name\(\)|database\.(Postgres|SQLite)\b`)
	domainSources(t, func(name string, b []byte) {
		if n := len(asks.FindAll(b, -1)); n > allowed[name] {
			t.Errorf("%s asks which engine it runs on %d time(s): say what it needs through internal/database", name, n)
		}
	})
}

// TestPagesReturnTheirErrors: a page handler returns its error and is
// mounted through httpx.Handle, the one adapter that answers it (the error
// page in the reader's language); none draws its own error page. Only the
// session middleware, which answers before any handler, draws it itself.
// Pages behind the session are handed their caller by withCaller or
// withRecord, and return at their first error.
func TestPagesReturnTheirErrors(t *testing.T) {
	handler := regexp.MustCompile(`(?m)^func \(\w+ \*\w+\) (\w+)\(c \*gin\.Context\) \{`)
	sources(t, []string{"ui"}, func(name string, b []byte) {
		for _, m := range handler.FindAllSubmatch(b, -1) {
			t.Errorf("%s: handler %s returns nothing: return its error, mounted through httpx.Handle", name, m[1])
		}
		allowed := 0
		if name == "ui/partners.go" {
			allowed = 2 // RequireSession
		}
		if n := strings.Count(string(b), ".Site.Fail("); n > allowed {
			t.Errorf("%s draws its own error page %d time(s): return the error", name, n)
		}
		// Behind the session, a page is given its caller (and its record)
		// by withCaller or withRecord: only the pages anyone may open (the
		// login, the language, single sign-on, a certificate's public page)
		// are mounted bare, and only the adapters and the frame look the
		// caller up.
		public := map[string]int{"ui/partners.go": 4, "ui/sso.go": 2, "ui/inventory.go": 1}
		if n := strings.Count(string(b), "httpx.Handle(p."); n > public[name] {
			t.Errorf("%s mounts %d page(s) through httpx.Handle (%d public): mount a page behind the session with withCaller or withRecord", name, n, public[name])
		}
		lookups := map[string]int{"ui/caller.go": 1, "ui/partners.go": 1}
		if n := strings.Count(string(b), "currentCaller(c)"); n > lookups[name] {
			t.Errorf("%s looks the caller up %d time(s): take it from withCaller", name, n)
		}
		if n := strings.Count(string(b), "if err == nil {"); n > 4 {
			t.Errorf("%s chains « if err == nil » %d times: return at the first error", name, n)
		}
	})
}

// domainSources calls fn with each domain's Go source (tests aside), named
// as dir/file.go.
func domainSources(t *testing.T, fn func(name string, b []byte)) {
	t.Helper()
	sources(t, []string{"accessories", "distribution", "inventory", "partners", "recharges", "reports"}, fn)
}

// sources calls fn with the Go source (tests aside) of each of dirs, named
// as dir/file.go.
func sources(t *testing.T, dirs []string, fn func(name string, b []byte)) {
	t.Helper()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v (%d files)", dir, err, len(files))
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fn(dir+"/"+filepath.Base(f), b)
		}
	}
}
