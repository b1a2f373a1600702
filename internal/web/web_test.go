package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/httpx"
	"github.com/tremplin/tremplin/internal/i18n"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestErrorsAreSaidInTheReadersLanguage: a field's problem, a file line's
// problem that names its field, a conflict; French from the catalogue,
// English from the services' own text.
func TestErrorsAreSaidInTheReadersLanguage(t *testing.T) {
	v := &apperr.ValidationError{}
	v.Field("brand", "is required")
	v.Line(3, "imei: %s is also on line %d", "356938035643809", 2)
	v.Field("mystery", "an unknown rule %d", 7)
	fields, all, ok := FieldErrors(i18n.French, v)
	if !ok || fields["brand"] != "est obligatoire." || fields["mystery"] != "an unknown rule 7" {
		t.Fatalf("fields %v", fields)
	}
	want := []string{"Marque : est obligatoire.", "Ligne 3 : IMEI : 356938035643809 est aussi à la ligne 2.", "mystery : an unknown rule 7"}
	for i, w := range want {
		if all[i] != w {
			t.Errorf("problem %d: %q, want %q", i, all[i], w)
		}
	}
	if _, all, _ := FieldErrors(i18n.English, v); all[1] != "Line 3: imei: 356938035643809 is also on line 2" {
		t.Errorf("English: %q", all[1])
	}
	c := apperr.Conflict("invalid-transition", "transfer %d is %s: only a draft can be shipped", 4, "shipped")
	if got := Say(i18n.French, c); got != "le transfert 4 est à l'état shipped : seul un brouillon peut être expédié." {
		t.Errorf("conflict: %q", got)
	}
	if got := Say(i18n.English, c); got != "transfer 4 is shipped: only a draft can be shipped" {
		t.Errorf("conflict in English: %q", got)
	}
	if _, _, ok := FieldErrors(i18n.French, c); ok {
		t.Error("a conflict laid out as field errors")
	}
}

// TestDaysAndCountsAreSaidAsPeopleWriteThem: a day a conflict names reads
// 07/12/2026, a count agrees with its word, a reason after a full stop
// begins with a capital (issue 27, item 13).
func TestDaysAndCountsAreSaidAsPeopleWriteThem(t *testing.T) {
	c := apperr.Conflict("day-closed", "the till of %s is closed: this day's sales are counted", "2026-12-07")
	if got := Say(i18n.French, c); got != "la caisse du 07/12/2026 est close : les ventes de ce jour sont comptées." {
		t.Errorf("closed day: %q", got)
	}
	for _, tc := range []struct {
		lang       i18n.Lang
		dev, cards int64
		want       string
	}{
		{i18n.French, 1, 2, "1 appareil, 2 recharges"}, {i18n.French, 0, 1, "0 appareil, 1 recharge"},
		{i18n.French, 3, 0, "3 appareils, 0 recharge"}, {i18n.English, 1, 0, "1 device, 0 recharges"},
		{i18n.English, 2, 1, "2 devices, 1 recharge"},
	} {
		if got := tc.lang.Allowance(tc.dev, tc.cards); got != tc.want {
			t.Errorf("%s %d, %d: %q, want %q", tc.lang, tc.dev, tc.cards, got, tc.want)
		}
	}
	if got := i18n.French.TN(1, "sales"); got != "vente" {
		t.Errorf("one sale: %q", got)
	}
	if got := i18n.French.TN(1, "%d card(s) of %s, serials %s to %s", 1, "Forfait", "A1", "A1"); got != "1 carte de Forfait, numéro A1" {
		t.Errorf("one card: %q", got)
	}
	if got := i18n.Sentence("il est « reçu »"); got != "Il est « reçu »" {
		t.Errorf("sentence: %q", got)
	}
	if got := i18n.Sentence("évidemment"); got != "Évidemment" {
		t.Errorf("sentence with an accent: %q", got)
	}
}

// TestRefusal: a validation error lays out by field, a conflict and a too
// large file as one sentence, anything else goes to the error page.
func TestRefusal(t *testing.T) {
	v := &apperr.ValidationError{}
	v.Field("name", "is required")
	if fields, all, ok := Refusal(i18n.English, v); !ok || fields["name"] != "is required" || len(all) != 1 {
		t.Fatalf("validation: %v %v %v", fields, all, ok)
	}
	if fields, all, ok := Refusal(i18n.English, apperr.Conflict("x", "voucher %s is used", "ABCD")); !ok || fields != nil || len(all) != 1 || all[0] != "voucher ABCD is used" {
		t.Fatalf("conflict: %v %v %v", fields, all, ok)
	}
	if _, all, ok := Refusal(i18n.French, fmt.Errorf("file: %w", apperr.ErrTooLarge)); !ok || len(all) != 1 {
		t.Fatalf("too large: %v %v", all, ok)
	}
	if _, _, ok := Refusal(i18n.English, errors.New("database down")); ok {
		t.Fatal("another error was laid out on the form")
	}
}

// TestFlashIsSecureBehindATLSProxy: the status message's cookie is Secure
// when a trusted proxy says the browser came over HTTPS, like the session's.
// Before, it was Secure only on a direct TLS connection.
func TestFlashIsSecureBehindATLSProxy(t *testing.T) {
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.DiscardHandler), TrustedProxies: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	e.GET("/act", func(c *gin.Context) { Flash(c, "fait", false); c.String(http.StatusOK, "ok") })
	h := testenv.NewHTTP(t, e)
	h.SkipSpec = true
	for _, proto := range []string{"https", "http"} {
		r := h.Do("GET", "/act", "", nil, "X-Forwarded-Proto", proto)
		cookie := r.Header.Get("Set-Cookie")
		if !strings.Contains(cookie, flashCookie) || strings.Contains(cookie, "; Secure") != (proto == "https") {
			t.Errorf("behind a proxy over %s: Set-Cookie %q", proto, cookie)
		}
	}
}
