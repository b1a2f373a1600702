package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/i18n"
)

// domainMessages are the format strings the domains give their refusals
// (apperr.Conflict, ConflictBecause, Invalid, InvalidBecause, a
// validation's Field, and a voucher code's mistyped): a French page says them through the catalogue,
// keyed by that English format.
func domainMessages(t *testing.T) map[string]string {
	t.Helper()
	formatArg := map[string]int{"Conflict": 1, "ConflictBecause": 2, "Invalid": 1, "InvalidBecause": 2, "Field": 1}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range []string{"accessories", "distribution", "inventory", "partners", "recharges", "reports"} {
		err := filepath.WalkDir(filepath.Join("..", "..", dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "mistyped" && len(call.Args) > 0 {
					// distribution's mistyped codes: a format and its arguments
					if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil {
							out[s] = fset.Position(lit.Pos()).String()
						}
					}
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				i, known := formatArg[sel.Sel.Name]
				if !known || len(call.Args) <= i {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); sel.Sel.Name != "Field" && (!ok || x.Name != "apperr") {
					return true
				}
				lit, ok := call.Args[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err == nil {
					out[s] = fset.Position(lit.Pos()).String()
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestDomainMessagesAreInFrench: every refusal a domain gives has its
// French in the catalogue, so that a French page never says it in English
// (rewording one without its French fails here).
func TestDomainMessagesAreInFrench(t *testing.T) {
	msgs := domainMessages(t)
	if len(msgs) < 100 {
		t.Fatalf("found only %d domain messages: the scan is broken", len(msgs))
	}
	var missing []string
	for m, where := range msgs {
		if !i18n.Translated(m) {
			missing = append(missing, where+": "+strconv.Quote(m))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("%d of %d domain messages have no French:\n%s", len(missing), len(msgs), strings.Join(missing, "\n"))
	}
}

// citations are titles the documents cite as published (in French).
var citations = map[string]bool{
	"ADEME, « Évaluation de l'impact environnemental d'un ensemble de produits reconditionnés », septembre 2022 ": true,
	"(un appareil reconditionné acheté à la place d'un neuf, par année d'utilisation)":                            true,
}

// TestDocumentsSayTheirWordsThroughTheCatalogue fails on a string literal
// with French in it in a source that draws documents (it imports pdfdraw):
// a word the catalogue does not hold (comments aside). Documents are French
// whatever the page's language, and say their words through the catalogue
// as pages do.
func TestDocumentsSayTheirWordsThroughTheCatalogue(t *testing.T) {
	fset := token.NewFileSet()
	documents := 0
	domainSources(t, func(name string, b []byte) {
		if !strings.Contains(string(b), `"github.com/tremplin/tremplin/internal/pdfdraw"`) {
			return
		}
		documents++
		f, err := parser.ParseFile(fset, name, b, 0)
		if err != nil {
			t.Fatal(err)
		}
		tags := map[*ast.BasicLit]bool{} // a struct field's tag is no word
		ast.Inspect(f, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok && field.Tag != nil {
				tags[field.Tag] = true
			}
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING || tags[lit] {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || i18n.Translated(s) || citations[s] { // a catalogue key (English), a title cited
				return true
			}
			if french := frenchIn(s); len(french) > 0 {
				t.Errorf("%s: %q says %q outside the catalogue", fset.Position(lit.Pos()), s, french)
			}
			return true
		})
	})
	if documents < 8 {
		t.Fatalf("only %d sources draw documents: the scan is broken", documents)
	}
}
