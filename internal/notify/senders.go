package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// DefaultBrevoURL is Brevo's transactional SMS endpoint.
const DefaultBrevoURL = "https://api.brevo.com/v3/transactionalSMS/sms"

// Brevo sends SMS through Brevo's transactional SMS API.
type Brevo struct {
	URL    string // the endpoint's whole URL
	APIKey string
	Sender string // the name or number the person sees (11 characters at most)
	Client *http.Client
}

// Send posts one SMS. A 4xx answer (other than 429) is permanent: a retry
// would be refused the same way.
func (b Brevo) Send(ctx context.Context, n Notification) (string, error) {
	body, err := json.Marshal(map[string]any{"sender": b.Sender, "recipient": strings.TrimPrefix(n.Recipient, "+"), "content": n.Body,
		"type": "transactional", "tag": "tremplin-" + n.Kind, "unicodeEnabled": false})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL, bytes.NewReader(body))
	if err != nil {
		return "", Permanent{fmt.Errorf("brevo: %w", err)}
	}
	req.Header.Set("api-key", b.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	client := b.Client
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("brevo: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		var p struct{ Code, Message string }
		_ = json.Unmarshal(raw, &p)
		err := fmt.Errorf("brevo answered %d %s: %s", resp.StatusCode, p.Code, p.Message)
		if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
			return "", Permanent{err}
		}
		return "", err
	}
	var ok struct {
		MessageID json.Number `json:"messageId"`
	}
	if err := json.Unmarshal(raw, &ok); err != nil || ok.MessageID == "" {
		return "", fmt.Errorf("brevo: an answer without messageId: %.200s", raw)
	}
	return ok.MessageID.String(), nil
}

// SMTP sends email through an SMTP server: smtp://user:pass@host:port
// (STARTTLS when the server offers it; authentication only over TLS or to
// the local machine, as net/smtp requires).
type SMTP struct {
	URL  *url.URL
	From string
}

// ParseSMTP reads TREMPLIN_SMTP_URL.
func ParseSMTP(raw, from string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return SMTP{}, fmt.Errorf("TREMPLIN_SMTP_URL %q: write smtp://user:password@host:port", raw)
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return SMTP{}, fmt.Errorf("TREMPLIN_MAIL_FROM %q: an email address is needed", from)
	}
	return SMTP{URL: u, From: from}, nil
}

// Send sends one email; its Message-ID names the notification, so that a
// copy a server delivers twice is recognisably the same.
func (s SMTP) Send(ctx context.Context, n Notification) (string, error) {
	host := s.URL.Host
	if s.URL.Port() == "" {
		host = net.JoinHostPort(s.URL.Hostname(), "25")
	}
	from, _ := mail.ParseAddress(s.From)
	id := fmt.Sprintf("<tremplin-%d@%s>", n.ID, from.Address[strings.LastIndex(from.Address, "@")+1:])
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
		from.String(), n.Recipient, mime.QEncoding.Encode("utf-8", n.Subject), id, time.Now().Format(time.RFC1123Z), strings.ReplaceAll(n.Body, "\n", "\r\n"))
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return "", fmt.Errorf("smtp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	}
	c, err := smtp.NewClient(conn, s.URL.Hostname())
	if err != nil {
		conn.Close()
		return "", fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(nil); err != nil {
			return "", fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if user := s.URL.User; user != nil {
		pass, _ := user.Password()
		if err := c.Auth(smtp.PlainAuth("", user.Username(), pass, s.URL.Hostname())); err != nil {
			return "", Permanent{fmt.Errorf("smtp auth: %w", err)}
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return "", fmt.Errorf("smtp MAIL: %w", err)
	}
	if err := c.Rcpt(n.Recipient); err != nil {
		if strings.HasPrefix(err.Error(), "5") {
			return "", Permanent{fmt.Errorf("smtp RCPT: %w", err)}
		}
		return "", fmt.Errorf("smtp RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return "", fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg.Bytes()); err != nil {
		return "", fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("smtp DATA: %w", err)
	}
	_ = c.Quit()
	return id, nil
}

// backoff is the wait before attempt n+1: 30 s, 2 min, 8 min, 32 min.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second
	for range attempts - 1 {
		d *= 4
	}
	return d
}

// MaxAttempts is how many times a message is tried before it fails.
const MaxAttempts = 5
