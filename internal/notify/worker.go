package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Worker sends the queued messages. Several processes may run one: a
// message is claimed by a conditional update before it is sent.
type Worker struct {
	DB      *gorm.DB
	Senders map[string]Sender // by channel; a channel without one fails its messages
	Now     func() time.Time
	// Stuck is how long a claimed message may stay unrecorded: past it,
	// the process that claimed it is taken for dead and the message fails
	// rather than go out a second time.
	Stuck time.Duration
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now().UTC()
}

// Tick sends the messages due now, oldest first, and returns how many it
// tried.
func (w *Worker) Tick(ctx context.Context) (int, error) {
	db := w.DB.WithContext(ctx)
	now := w.now()
	stuck := w.Stuck
	if stuck <= 0 {
		stuck = 5 * time.Minute
	}
	if err := db.Model(&Notification{}).Where("status = ? AND claimed_at <= ?", Sending, now.Add(-stuck)).
		Updates(map[string]any{"status": Failed, "last_error": "interrupted between sending and recording: not sent again, so that the person never gets it twice"}).Error; err != nil {
		return 0, fmt.Errorf("messages caught mid-send: %w", err)
	}
	var due []int64
	if err := db.Model(&Notification{}).Where("status = ? AND next_attempt_at <= ?", Queued, now).Order("id").Limit(20).Pluck("id", &due).Error; err != nil {
		return 0, fmt.Errorf("messages due: %w", err)
	}
	tried := 0
	for _, id := range due {
		res := db.Model(&Notification{}).Where("id = ? AND status = ?", id, Queued).
			Updates(map[string]any{"status": Sending, "claimed_at": now, "attempts": gorm.Expr("attempts + 1")})
		if res.Error != nil {
			return tried, fmt.Errorf("claim message %d: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			continue // another process has it
		}
		var n Notification
		if err := db.Where("id = ?", id).Take(&n).Error; err != nil {
			return tried, fmt.Errorf("message %d: %w", id, err)
		}
		tried++
		if err := w.send(ctx, db, n); err != nil {
			return tried, err
		}
	}
	return tried, nil
}

// send sends a claimed message and records what came of it.
func (w *Worker) send(ctx context.Context, db *gorm.DB, n Notification) error {
	sender := w.Senders[n.Channel]
	var pid string
	var err error
	if sender == nil {
		err = Permanent{fmt.Errorf("no %s provider is configured", n.Channel)}
	} else {
		sendCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		pid, err = sender.Send(sendCtx, n)
		cancel()
	}
	now := w.now()
	changes := map[string]any{}
	var permanent Permanent
	switch {
	case err == nil:
		changes = map[string]any{"status": Sent, "sent_at": now, "provider_id": pid, "last_error": ""}
	case errors.As(err, &permanent) || n.Attempts >= MaxAttempts:
		changes = map[string]any{"status": Failed, "last_error": truncate(err.Error())}
	default:
		changes = map[string]any{"status": Queued, "next_attempt_at": now.Add(backoff(n.Attempts)), "last_error": truncate(err.Error())}
	}
	if rerr := db.Model(&Notification{}).Where("id = ? AND status = ?", n.ID, Sending).Updates(changes).Error; rerr != nil {
		return fmt.Errorf("record message %d (provider id %q): %w", n.ID, pid, rerr)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}
