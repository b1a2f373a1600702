package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/internal/testenv"
)

// TestVoucherBySMSInBrowser (issue 30): with an SMS provider set (a Brevo
// stand-in), the CCAS's social worker records a new person with their
// mobile and consent and ticks « Envoyer son code par SMS »; a mobile
// without consent is refused at its box, what was typed kept; the worker
// sends one SMS with the code to the stand-in, and the person's page
// says it was sent.
func TestVoucherBySMSInBrowser(t *testing.T) {
	brevo := testenv.Brevo(t)
	h, svc, _ := newTestRouterEnv(t, map[string]string{"TREMPLIN_SMS_API_KEY": brevo.APIKey, "TREMPLIN_SMS_SENDER": "Tremplin", "TREMPLIN_SMS_API_URL": brevo.URL})
	_, ccas, _ := demoAccount(t, svc, "ccas@demo.tremplin.local")
	ui := testenv.NewUI(t, h.URL, 20*time.Second)
	ui.Login(ccas.Email, ccas.Password)
	ui.Open("/bons/nouveau", "#voucher-form")
	ui.Do(chromedp.SendKeys("#first_name", "Inès"), chromedp.SendKeys("#last_name", "Moreau"), chromedp.SendKeys("#postal_code", "93100"),
		chromedp.SendKeys("#phone", "06 98 76 54 32"), chromedp.Click("#notify"))
	ui.Do(chromedp.Click(`input[name=device_categories][value=laptop]`))
	ui.Follow("#create-voucher")
	if msg := ui.Text("#contact_consent-error"); !strings.Contains(msg, "obligatoire") || ui.Value("#phone") != "06 98 76 54 32" {
		t.Fatalf("a mobile without consent: %q, phone kept %q", msg, ui.Value("#phone"))
	}
	ui.Do(chromedp.Click("#contact_consent"))
	if ui.Eval(`document.querySelector("#notify").checked ? 1 : 0`) != 1 {
		ui.Do(chromedp.Click("#notify"))
	}
	ui.Follow("#create-voucher")
	code := ui.Text("#code")
	w := &notify.Worker{DB: svc.db.DB, Senders: svc.senders}
	if _, err := w.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	sms := brevo.Sent()
	if len(sms) != 1 || sms[0].Recipient != "33698765432" || !strings.Contains(sms[0].Content, code) {
		t.Fatalf("the SMS at the stand-in: %+v", sms)
	}
	t.Logf("the SMS: %s", sms[0].Content)
	// A laptop set aside at Belleville from the voucher's page: she is told.
	var paris int64
	svc.db.Table("organizations").Where("name = ?", "Espace numérique Belleville").Pluck("id", &paris)
	ui.Open("/bons/"+code, "#where")
	ui.Follow(fmt.Sprintf("#reserve-%d-laptop", paris))
	if _, err := w.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if sms = brevo.Sent(); len(sms) != 2 || !strings.Contains(sms[1].Content, "ordinateur portable vous attend") {
		t.Fatalf("the reservation's SMS: %+v", sms)
	}
	t.Logf("the reservation's SMS: %s", sms[1].Content)
	var person int64
	svc.db.Table("beneficiaries").Where("first_name = ?", "Inès").Pluck("id", &person)
	ui.Open("/personnes/"+strconv.FormatInt(person, 10), "#messages")
	if got := ui.Text("#messages"); !strings.Contains(got, "SMS") || !strings.Contains(got, "envoyé") {
		t.Fatalf("the person's messages: %q", got)
	}
	ui.Shot("person-messages")
	checkPage(t, ui, "person with messages", "/personnes/"+strconv.FormatInt(person, 10))
}
