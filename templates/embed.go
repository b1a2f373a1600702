// Package templates holds the web UI's HTML templates and static assets,
// embedded in the binary and parsed once at start, once per language.
package templates

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/tremplin/tremplin/internal/i18n"
)

//go:embed layout.html pages/*.html partials/*.html
var pages embed.FS

//go:embed static
var static embed.FS

// Set is every page, each parsed with the layout, for each language.
type Set struct {
	pages  map[i18n.Lang]map[string]*template.Template
	hashes map[string]string
}

// funcs are the templates' functions in one language: t says a catalogue
// message, the others format money, counts, days and times.
func funcs(l i18n.Lang, hashes map[string]string) template.FuncMap {
	return template.FuncMap{
		"t":     l.T,
		"money": func(cents any) string { return l.Money(toInt(cents)) },
		"num":   func(n any) string { return l.Number(toInt(n)) },
		// tn says a message whose words follow the count n (« 1 appareil »).
		"tn": func(n any, key string, args ...any) string { return l.TN(toInt(n), key, args...) },
		// allowance says what a voucher allows: « 1 appareil, 2 recharges ».
		"allowance": func(devices, recharges any) string { return l.Allowance(toInt(devices), toInt(recharges)) },
		"date": func(t any, loc *time.Location) string {
			switch v := t.(type) {
			case time.Time:
				return l.Date(v, loc)
			case *time.Time:
				if v != nil {
					return l.Date(*v, loc)
				}
			case string:
				return l.ISODate(v)
			}
			return ""
		},
		// isodate writes a day kept as text (2026-12-07) the reader's way.
		"isodate": l.ISODate,
		"datetime": func(t any, loc *time.Location) string {
			switch v := t.(type) {
			case time.Time:
				return l.DateTime(v, loc)
			case *time.Time:
				if v != nil {
					return l.DateTime(*v, loc)
				}
			}
			return ""
		},
		"clock": func(t time.Time, loc *time.Location) string { return l.Clock(t, loc) },
		// asset is a static file's URL with its content's hash, so that
		// browsers keep it for a year and fetch it again when it changes.
		"asset": func(name string) string { return "/static/" + name + "?v=" + hashes[name] },
		"has": func(vals []string, v string) bool {
			for _, x := range vals {
				if x == v {
					return true
				}
			}
			return false
		},
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i
			}
			return out
		},
		// dict passes several values to a partial: dict "People" .Found "View" $.
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: %d arguments, not pairs", len(kv))
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"add":   func(a, b any) int64 { return toInt(a) + toInt(b) },
		"mul":   func(a, b any) int64 { return toInt(a) * toInt(b) },
		"sub":   func(a, b any) int64 { return toInt(a) - toInt(b) },
		"lower": strings.ToLower,
		"join":  strings.Join,
		"list":  func(v ...string) []string { return v },
		"deref": func(p any) any {
			switch v := p.(type) {
			case *string:
				if v != nil {
					return *v
				}
				return ""
			case *int64:
				if v != nil {
					return *v
				}
				return int64(0)
			case *int:
				if v != nil {
					return *v
				}
				return 0
			}
			return p
		},
	}
}

func toInt(v any) int64 {
	r := reflect.ValueOf(v)
	for r.Kind() == reflect.Pointer {
		if r.IsNil() {
			return 0
		}
		r = r.Elem()
	}
	switch {
	case r.CanInt():
		return r.Int()
	case r.CanUint():
		return int64(r.Uint())
	}
	return 0
}

// Load parses every page once per language and hashes the static files.
func Load() (*Set, error) {
	s := &Set{pages: map[i18n.Lang]map[string]*template.Template{}, hashes: map[string]string{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.hashes[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(pages, "pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, l := range i18n.Langs {
		s.pages[l] = map[string]*template.Template{}
		for _, n := range names {
			t, err := template.New("layout.html").Funcs(funcs(l, s.hashes)).ParseFS(pages, "layout.html", "partials/*.html", n)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", n, err)
			}
			s.pages[l][strings.TrimSuffix(path.Base(n), ".html")] = t
		}
	}
	return s, nil
}

// Render writes a page. It renders into a buffer first, so that a template
// error gives a clean 500 rather than half a page.
func (s *Set) Render(w http.ResponseWriter, status int, lang, name string, data any) error {
	l, ok := i18n.Parse(lang)
	if !ok {
		l = i18n.French
	}
	t, ok := s.pages[l][name]
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

// Static serves /static/: files only, a folder is not found (never
// listed). A request that names the file's current hash (?v=, as asset
// writes it) may be kept a year; any other is checked again each time.
func (s *Set) Static() http.Handler {
	sub, _ := fs.Sub(static, "static")
	files := http.FileServer(filesOnly{http.FS(sub)})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		if h, ok := s.hashes[name]; ok {
			w.Header().Set("ETag", `"`+h+`"`)
			if r.URL.Query().Get("v") == h {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
		}
		files.ServeHTTP(w, r)
	})
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
