// Package notify sends short messages to the people Tremplin serves: an
// SMS through Brevo's transactional SMS API, or an email through SMTP.
// A message is queued in the database in the transaction of what caused
// it (a voucher issued, a device set aside) and sent by a worker, with
// retries and backoff, at most once: a message caught between the
// provider's answer and its record is never sent again blindly.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Channels.
const (
	SMS   = "sms"
	Email = "email"
)

// Statuses.
const (
	Queued  = "queued"
	Sending = "sending"
	Sent    = "sent"
	Failed  = "failed"
)

// Notification is a message to a person, as kept.
type Notification struct {
	ID            int64      `json:"id"`
	BeneficiaryID int64      `json:"beneficiary_id"`
	Channel       string     `json:"channel"`
	Kind          string     `json:"kind"`
	About         string     `json:"-"`
	Recipient     string     `json:"-"`
	Subject       string     `json:"-"`
	Body          string     `json:"-"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"-"`
	ClaimedAt     *time.Time `json:"-"`
	LastError     string     `json:"last_error,omitempty"`
	ProviderID    *string    `json:"-"`
	CreatedAt     time.Time  `json:"created_at"`
	SentAt        *time.Time `json:"sent_at"`
}

// Message is what a domain asks to send.
type Message struct {
	BeneficiaryID int64
	Channel       string
	Kind          string // what it is about: voucher, reservation…
	// About names the one thing it is about (voucher:12): a second message
	// about it is not queued. Empty: no such limit.
	About     string
	Recipient string // an E.164 number or an email address
	Subject   string // emails only
	Body      string
}

// Sender sends one message and returns the provider's id for it.
type Sender interface {
	Send(ctx context.Context, n Notification) (providerID string, err error)
}

// Permanent marks a refusal that no retry will change (a number the
// provider rejects, a bad key): the message fails at once.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// ErrOff is notifications asked of a server without their settings.
var ErrOff = errors.New("notifications are not configured")

// Queue appends a message in tx: it leaves only if tx commits. A message
// About something already messaged is not queued again (queued false).
func Queue(tx *gorm.DB, m Message, now time.Time) (n Notification, queued bool, err error) {
	n = Notification{BeneficiaryID: m.BeneficiaryID, Channel: m.Channel, Kind: m.Kind, About: m.About, Recipient: m.Recipient, Subject: m.Subject,
		Body: m.Body, Status: Queued, NextAttemptAt: now, CreatedAt: now}
	if n.Channel == SMS {
		n.Body = SMSText(n.Body)
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&n)
	if res.Error != nil {
		return n, false, fmt.Errorf("queue a message: %w", res.Error)
	}
	return n, res.RowsAffected == 1, nil
}

// List is a person's messages, newest first (their bodies are not listed).
func List(db *gorm.DB, beneficiaryID int64) ([]Notification, error) {
	out := []Notification{}
	if err := db.Where("beneficiary_id = ?", beneficiaryID).Order("id DESC").Limit(200).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("messages of person %d: %w", beneficiaryID, err)
	}
	return out, nil
}

// Erase drops what a person's messages say and where they went (at
// anonymisation); the count of messages stays.
func Erase(tx *gorm.DB, beneficiaryIDs string, args ...any) error {
	if err := tx.Exec(`UPDATE notifications SET recipient = '', subject = '', body = '' WHERE beneficiary_id IN (`+beneficiaryIDs+`)`, args...).Error; err != nil {
		return fmt.Errorf("erase messages: %w", err)
	}
	return nil
}

// SMSText keeps a text to what one SMS carries: GSM-7 characters only
// (French letters outside it lose their accent), at most 160.
func SMSText(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		t, ok := gsm7[r]
		if !ok {
			t = fold(r)
		}
		for _, c := range t {
			cost := 1
			if strings.ContainsRune(gsm7Extended, c) {
				cost = 2 // an escape and the character
			}
			if n+cost > 160 {
				return b.String()
			}
			b.WriteRune(c)
			n += cost
		}
	}
	return b.String()
}
