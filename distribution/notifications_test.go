package distribution_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/notify"
	"github.com/tremplin/tremplin/internal/testenv"
)

// messaging is a fixture that reaches people by SMS and email, with a
// Brevo stand-in, an SMTP stand-in and a worker on the fixture's clock.
type messaging struct {
	*fixture
	brevo  *testenv.BrevoStandIn
	mail   *testenv.SMTPStandIn
	worker *notify.Worker
}

func newMessaging(t *testing.T) *messaging {
	f := newFixtureWith(t, []string{notify.SMS, notify.Email})
	m := &messaging{fixture: f, brevo: testenv.Brevo(t), mail: testenv.SMTP(t)}
	mailer, err := notify.ParseSMTP("smtp://"+m.mail.Addr, "Tremplin <bonjour@tremplin.example.org>")
	if err != nil {
		t.Fatal(err)
	}
	m.worker = &notify.Worker{DB: f.db.DB, Now: f.clock.Now, Stuck: 5 * time.Minute, Senders: map[string]notify.Sender{
		notify.SMS:   notify.Brevo{URL: m.brevo.URL, APIKey: m.brevo.APIKey, Sender: "Tremplin"},
		notify.Email: mailer,
	}}
	return m
}

func (m *messaging) tick() {
	m.t.Helper()
	if _, err := m.worker.Tick(context.Background()); err != nil {
		m.t.Fatal(err)
	}
}

func (m *messaging) messages(beneficiary int64) []map[string]any {
	m.t.Helper()
	var out []map[string]any
	m.http.Do("GET", fmt.Sprintf("/api/v1/notifications?beneficiary_id=%d", beneficiary), m.tokens["prescriber"], nil).Expect(m.t, 200).Decode(m.t, &out)
	return out
}

// TestVoucherSentByMessage (issue 30): a phone or an email is kept only
// with consent (422 without, 422 for a landline); a voucher issued with
// notify sends one SMS (GSM-7, at most 160, with the code, the last day
// and where to go) and, for a person with an email only, one email;
// another prescriber does not see the messages; nothing leaves before the
// worker runs, and a second run sends nothing more.
func TestVoucherSentByMessage(t *testing.T) {
	m := newMessaging(t)
	m.http.Do("POST", "/api/v1/beneficiaries", m.tokens["prescriber"], map[string]any{"first_name": "Aïcha", "last_name": "Benali", "phone": "06 12 34 56 78"}).ExpectProblem(t, 422)
	m.http.Do("POST", "/api/v1/beneficiaries", m.tokens["prescriber"], map[string]any{"first_name": "Aïcha", "last_name": "Benali", "phone": "01 23 45 67 89", "contact_consent": true}).ExpectProblem(t, 422)
	m.http.Do("POST", "/api/v1/beneficiaries", m.tokens["prescriber"], map[string]any{"first_name": "Aïcha", "last_name": "Benali", "email": "pas une adresse", "contact_consent": true}).ExpectProblem(t, 422)
	aicha := m.beneficiary("prescriber", map[string]any{"first_name": "Aïcha", "last_name": "Benali", "postal_code": "93100", "phone": "06 12 34 56 78", "contact_consent": true})
	if aicha["phone"] != "+33612345678" {
		t.Fatalf("the phone kept: %v", aicha["phone"])
	}
	kevin := m.beneficiary("prescriber", map[string]any{"first_name": "Kévin", "last_name": "Payet", "email": "kevin.payet@example.org", "contact_consent": true})
	nobody := m.beneficiary("prescriber", map[string]any{"first_name": "Jean", "last_name": "Dupont"})
	issue := func(b map[string]any) *testenv.Response {
		return m.http.Do("POST", "/api/v1/vouchers", m.tokens["prescriber"], map[string]any{"beneficiary_id": id(b), "device_categories": []string{"laptop"},
			"devices": 1, "valid_days": 30, "notify": true})
	}
	before := m.count("vouchers")
	issue(nobody).ExpectProblem(t, 422)
	if m.count("vouchers") != before {
		t.Fatal("a voucher was issued though its message could not be")
	}
	code := issue(aicha).Expect(t, 201).Map(t)["code"].(string)
	kcode := issue(kevin).Expect(t, 201).Map(t)["code"].(string)
	if len(m.brevo.Sent()) != 0 {
		t.Fatal("an SMS left before the worker ran")
	}
	if got := m.messages(id(aicha)); len(got) != 1 || got[0]["status"] != "queued" || got[0]["channel"] != "sms" || got[0]["body"] != nil {
		t.Fatalf("queued: %v", got)
	}
	m.tick()
	m.tick()
	sms := m.brevo.Sent()
	if len(sms) != 1 || sms[0].Recipient != "33612345678" || sms[0].Sender != "Tremplin" || sms[0].Type != "transactional" {
		t.Fatalf("the SMS: %+v", sms)
	}
	text := sms[0].Content
	if !strings.Contains(text, code) || !strings.Contains(text, "Espace Belleville") || !notify.IsGSM7(text) || notify.Units(text) > 160 {
		t.Fatalf("the SMS's text (%d units): %q", notify.Units(text), text)
	}
	t.Logf("the SMS: %s", text)
	mails := m.mail.Sent()
	if len(mails) != 1 || mails[0].To[0] != "kevin.payet@example.org" || !strings.Contains(mails[0].Data, kcode) {
		t.Fatalf("the email: %+v", mails)
	}
	if got := m.messages(id(aicha)); got[0]["status"] != "sent" || got[0]["attempts"] != float64(1) || got[0]["sent_at"] == nil {
		t.Fatalf("after the worker: %v", got)
	}
	// A laptop set aside for her, with notify: a second SMS says where.
	m.device("space", "laptop", 9000)
	m.http.Do("POST", "/api/v1/reservations", m.tokens["prescriber"], map[string]any{"voucher_code": code, "site_id": m.orgs["space"].ID,
		"category": "laptop", "notify": true}).Expect(t, 201)
	m.tick()
	if sms := m.brevo.Sent(); len(sms) != 2 || !strings.Contains(sms[1].Content, "un ordinateur portable vous attend") || !strings.Contains(sms[1].Content, code) ||
		!notify.IsGSM7(sms[1].Content) || notify.Units(sms[1].Content) > 160 {
		t.Fatalf("the reservation's SMS: %+v", sms)
	} else {
		t.Logf("the reservation's SMS: %s", sms[1].Content)
	}
	// Five days later the reservation is two days from its end: one
	// reminder, however many times the job runs; then, two days from the
	// voucher's end, one for the voucher; Kévin's is reminded by email.
	m.clock.Set(m.clock.Now().Add(5*24*time.Hour + time.Hour))
	for range 2 {
		if _, err := m.svc.RemindEnding(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	m.tick()
	if sms := m.brevo.Sent(); len(sms) != 3 || !strings.Contains(sms[2].Content, "rappel") || !strings.Contains(sms[2].Content, "ordinateur portable") {
		t.Fatalf("the reservation's reminder: %+v", sms)
	}
	m.clock.Set(m.clock.Now().Add(24 * 24 * time.Hour))
	if n, err := m.svc.RemindEnding(t.Context()); err != nil || n != 2 {
		t.Fatalf("voucher reminders queued: %d, %v", n, err)
	}
	if n, _ := m.svc.RemindEnding(t.Context()); n != 0 {
		t.Fatalf("the job ran again and queued %d more", n)
	}
	m.tick()
	if sms := m.brevo.Sent(); len(sms) != 4 || !strings.Contains(sms[3].Content, code) || !strings.Contains(sms[3].Content, "se termine") || notify.Units(sms[3].Content) > 160 {
		t.Fatalf("the voucher's reminder: %+v", sms)
	} else {
		t.Logf("the reminder: %s", sms[3].Content)
	}
	if len(m.mail.Sent()) != 2 {
		t.Fatalf("Kévin's reminder by email: %d mails", len(m.mail.Sent()))
	}
	m.http.Do("GET", fmt.Sprintf("/api/v1/notifications?beneficiary_id=%d", id(aicha)), m.tokens["prescriber2"], nil).ExpectProblem(t, 404)
	m.http.Do("GET", "/api/v1/notifications", m.tokens["prescriber"], nil).ExpectProblem(t, 422)

	// Anonymised, the person keeps no phone, no email, and their messages
	// no longer say where they went nor what.
	m.db.Exec(`UPDATE beneficiaries SET last_activity_at = ?`, time.Now().AddDate(-3, 0, 0))
	m.db.Exec(`UPDATE vouchers SET expires_at = ?`, time.Now().AddDate(-2, 0, 0))
	if _, err := m.svc.Anonymise(t.Context(), time.Now().AddDate(0, -24, 0)); err != nil {
		t.Fatal(err)
	}
	var left int64
	m.db.Raw(`SELECT COUNT(*) FROM beneficiaries WHERE phone IS NOT NULL OR email IS NOT NULL OR contact_consent`).Scan(&left)
	var said int64
	m.db.Raw(`SELECT COUNT(*) FROM notifications WHERE recipient <> '' OR body <> ''`).Scan(&said)
	if left != 0 || said != 0 {
		t.Fatalf("after anonymisation: %d people reachable, %d messages readable", left, said)
	}
}

// TestMessagesRetryAndNeverTwice (issue 30): Brevo failing twice, then
// answering: one SMS, three attempts recorded, the waits between them
// growing; a process that dies between Brevo's answer and the record:
// the SMS is not sent again, the message reads failed; a provider that
// refuses the key fails the message at once.
func TestMessagesRetryAndNeverTwice(t *testing.T) {
	m := newMessaging(t)
	p := m.beneficiary("prescriber", map[string]any{"first_name": "Aïcha", "last_name": "Benali", "phone": "0692 12 34 56", "contact_consent": true})
	voucher := func() {
		m.http.Do("POST", "/api/v1/vouchers", m.tokens["prescriber"], map[string]any{"beneficiary_id": id(p), "device_categories": []string{"laptop"},
			"devices": 1, "valid_days": 30, "notify": true}).Expect(t, 201)
	}
	voucher()
	m.brevo.FailNext(2)
	m.tick()
	m.tick() // too early for the next attempt: nothing tried
	if m.brevo.Calls() != 1 {
		t.Fatalf("%d calls before the first wait was over", m.brevo.Calls())
	}
	m.clock.Set(m.clock.Now().Add(31 * time.Second))
	m.tick()
	m.clock.Set(m.clock.Now().Add(2*time.Minute + time.Second))
	m.tick()
	got := m.messages(id(p))
	if len(m.brevo.Sent()) != 1 || m.brevo.Calls() != 3 || got[0]["status"] != "sent" || got[0]["attempts"] != float64(3) {
		t.Fatalf("after two failures: %d sent in %d calls; %v", len(m.brevo.Sent()), m.brevo.Calls(), got)
	}
	if m.brevo.Sent()[0].Recipient != "262692123456" {
		t.Fatalf("La Réunion's number: %v", m.brevo.Sent()[0].Recipient)
	}

	// The process dies once Brevo has answered, before the record.
	voucher()
	dying := &notify.Worker{DB: m.db.DB, Now: m.clock.Now, Stuck: 5 * time.Minute, Senders: map[string]notify.Sender{notify.SMS: crashAfter{m.worker.Senders[notify.SMS]}}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = dying.Tick(context.Background())
	}()
	<-done
	if len(m.brevo.Sent()) != 2 {
		t.Fatalf("the dying process sent %d", len(m.brevo.Sent()))
	}
	m.tick()
	m.clock.Set(m.clock.Now().Add(10 * time.Minute))
	m.tick()
	m.tick()
	if len(m.brevo.Sent()) != 2 {
		t.Fatalf("the message caught mid-send went out again: %d SMS", len(m.brevo.Sent()))
	}
	if got := m.messages(id(p)); got[0]["status"] != "failed" || !strings.Contains(fmt.Sprint(got[0]["last_error"]), "not sent again") {
		t.Fatalf("the message caught mid-send: %v", got[0])
	}

	// A key Brevo refuses: failed at the first try, not retried.
	voucher()
	m.worker.Senders[notify.SMS] = notify.Brevo{URL: m.brevo.URL, APIKey: "wrong", Sender: "Tremplin"}
	calls := m.brevo.Calls()
	m.tick()
	m.clock.Set(m.clock.Now().Add(time.Hour))
	m.tick()
	if got := m.messages(id(p)); got[0]["status"] != "failed" || got[0]["attempts"] != float64(1) || m.brevo.Calls() != calls+1 {
		t.Fatalf("a refused key: %v after %d calls", got[0], m.brevo.Calls()-calls)
	}
}

// crashAfter sends, then ends its goroutine as a killed process would:
// the worker never records the answer.
type crashAfter struct{ notify.Sender }

func (c crashAfter) Send(ctx context.Context, n notify.Notification) (string, error) {
	if _, err := c.Sender.Send(ctx, n); err != nil {
		return "", err
	}
	runtime.Goexit()
	return "", nil
}
