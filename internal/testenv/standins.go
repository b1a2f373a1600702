package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/oauth2-proxy/mockoidc"
)

// SMSSent is one SMS a Brevo stand-in accepted.
type SMSSent struct {
	Sender, Recipient, Content, Type, Tag string
}

// BrevoStandIn is a local server shaped like Brevo's transactional SMS
// API: POST with an api-key header and a JSON body, 201 with a messageId.
// It refuses a wrong key (401) and can fail the next requests (500).
type BrevoStandIn struct {
	URL    string
	APIKey string
	mu     sync.Mutex
	sent   []SMSSent
	fail   int
	calls  int
}

// Brevo starts a Brevo stand-in for the test.
func Brevo(t testing.TB) *BrevoStandIn {
	t.Helper()
	b := &BrevoStandIn{APIKey: "xkeysib-test"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.calls++
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/v3/transactionalSMS/sms":
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"code":"not_found","message":"no such endpoint"}`)
			return
		case r.Header.Get("api-key") != b.APIKey:
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"unauthorized","message":"Key not found"}`)
			return
		case b.fail > 0:
			b.fail--
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"code":"internal_error","message":"try again"}`)
			return
		}
		var m SMSSent
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Recipient == "" || m.Content == "" || m.Sender == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":"missing_parameter","message":"sender, recipient and content are required"}`)
			return
		}
		b.sent = append(b.sent, m)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"reference":"ref-%d","messageId":%d,"smsCount":1,"usedCredits":1,"remainingCredits":100}`, len(b.sent), 1000+len(b.sent))
	}))
	t.Cleanup(srv.Close)
	b.URL = srv.URL + "/v3/transactionalSMS/sms"
	return b
}

// Sent is the SMS accepted so far.
func (b *BrevoStandIn) Sent() []SMSSent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]SMSSent(nil), b.sent...)
}

// FailNext makes the next n requests fail with a 500.
func (b *BrevoStandIn) FailNext(n int) {
	b.mu.Lock()
	b.fail = n
	b.mu.Unlock()
}

// Calls counts the requests received.
func (b *BrevoStandIn) Calls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// MailSent is one message an SMTP stand-in accepted.
type MailSent struct {
	From string
	To   []string
	Data string
}

// SMTPStandIn is a local SMTP server (github.com/emersion/go-smtp) that
// keeps what it is given.
type SMTPStandIn struct {
	Addr string
	mu   sync.Mutex
	sent []MailSent
}

// SMTP starts an SMTP stand-in for the test.
func SMTP(t testing.TB) *SMTPStandIn {
	t.Helper()
	s := &SMTPStandIn{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Sent is the mail accepted so far.
func (s *SMTPStandIn) Sent() []MailSent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MailSent(nil), s.sent...)
}

type smtpSession struct {
	box *SMTPStandIn
	cur MailSent
}

func (s *smtpSession) Reset()        { s.cur = MailSent{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = string(b)
	s.box.mu.Lock()
	s.box.sent = append(s.box.sent, s.cur)
	s.box.mu.Unlock()
	return nil
}

// OIDC starts a local OpenID Connect provider (oauth2-proxy's mockoidc:
// discovery, authorization with PKCE, token, keys, user info) until the
// test ends. Queue the next user to sign in with QueueUser.
func OIDC(t testing.TB) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("start the OpenID Connect stand-in: %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}
