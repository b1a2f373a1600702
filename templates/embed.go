// Package templates holds the web UI's HTML templates and static assets,
// embedded in the binary and parsed once at start.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed layout.html pages/*.html
var pages embed.FS

//go:embed static
var static embed.FS

// Static serves /static/: files only, a folder is not found (never listed).
func Static() http.FileSystem {
	sub, _ := fs.Sub(static, "static")
	return filesOnly{http.FS(sub)}
}

type filesOnly struct{ http.FileSystem }

func (f filesOnly) Open(name string) (http.File, error) {
	file, err := f.FileSystem.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := file.Stat()
	if err != nil || st.IsDir() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}

// Set is every page, each parsed with the layout.
type Set struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	// frdate shows an ISO date (2026-12-23) the French way (23/12/2026).
	"frdate": func(iso string) string {
		if len(iso) == 10 && iso[4] == '-' && iso[7] == '-' {
			return iso[8:10] + "/" + iso[5:7] + "/" + iso[0:4]
		}
		return iso
	},
	"has": func(vals []string, v string) bool {
		for _, x := range vals {
			if x == v {
				return true
			}
		}
		return false
	},
	"roleLabel": func(role string) string {
		switch role {
		case "admin":
			return "Administration du réseau"
		case "warehouse":
			return "Entrepôt"
		case "space":
			return "Espace"
		case "prescriber":
			return "Prescripteur"
		}
		return role
	},
}

// Load parses every page once.
func Load() (*Set, error) {
	names, err := fs.Glob(pages, "pages/*.html")
	if err != nil {
		return nil, err
	}
	s := &Set{pages: map[string]*template.Template{}}
	for _, n := range names {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(pages, "layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		s.pages[n[len("pages/"):len(n)-len(".html")]] = t
	}
	return s, nil
}

// Render writes a page. It renders into a buffer first, so that a template
// error gives a clean 500 rather than half a page.
func (s *Set) Render(w http.ResponseWriter, status int, name string, data any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
