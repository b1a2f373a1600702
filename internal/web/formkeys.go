package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/database"
)

// FormKeys remembers the forms already acted on, by the key each form
// carries from the moment it was drawn, so that a double click, a reload
// or a retry after a dropped connection acts once.
type FormKeys struct {
	DB *database.DB
	// Wait is how long a second submit waits for the first one to finish
	// before saying it is still running.
	Wait time.Duration
	// Keep is how long keys are remembered.
	Keep time.Duration
}

type formKey struct {
	UserID    int64
	FormKey   string
	Result    string
	CreatedAt time.Time
}

// ErrInProgress says the same form is being acted on by another request.
var ErrInProgress = errors.New("this form is already being processed")

// FormKeyField is the hidden field that carries a form's key.
const FormKeyField = "form_key"

// Once runs act for a posted form unless the form's key was already used by
// the same person: then it returns where the first submit went, and act is
// not run. act returns the page to go to. A failed act forgets the key, so
// that the corrected form can be sent again. A form without a key acts.
func (s *Site) Once(c *gin.Context, act func() (string, error)) (string, bool, error) {
	key := c.PostForm(FormKeyField)
	p := s.page(c)
	if key == "" || len(key) > 64 || s.Keys == nil || p.UserID == 0 {
		to, err := act()
		return to, false, err
	}
	return s.Keys.once(c.Request.Context(), p.UserID, key, act)
}

func (k *FormKeys) once(ctx context.Context, user int64, key string, act func() (string, error)) (string, bool, error) {
	db := k.DB.WithContext(ctx)
	err := db.Create(&formKey{UserID: user, FormKey: key, CreatedAt: time.Now().UTC()}).Error
	if database.IsUniqueViolation(err) {
		to, werr := k.await(ctx, user, key)
		return to, true, werr
	}
	if err != nil {
		return "", false, fmt.Errorf("record form key: %w", err)
	}
	to, err := act()
	if err != nil {
		if derr := db.Where("user_id = ? AND form_key = ?", user, key).Delete(&formKey{}).Error; derr != nil {
			return "", false, errors.Join(err, fmt.Errorf("forget form key: %w", derr))
		}
		return "", false, err
	}
	if err := db.Model(&formKey{}).Where("user_id = ? AND form_key = ?", user, key).Update("result", to).Error; err != nil {
		return "", false, fmt.Errorf("record form result: %w", err)
	}
	k.prune(db)
	return to, false, nil
}

// await waits for the first submit of a key to finish and returns where it
// went.
func (k *FormKeys) await(ctx context.Context, user int64, key string) (string, error) {
	deadline := time.Now().Add(k.Wait)
	for {
		var row formKey
		err := k.DB.WithContext(ctx).Where("user_id = ? AND form_key = ?", user, key).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			// The first submit failed and let go of the key: this one is
			// refused as a repeat anyway, and shows the first's error page.
			return "", fmt.Errorf("%w: it failed a moment ago; check the page and send it again", apperr.ErrConflict)
		case err != nil:
			return "", fmt.Errorf("read form key: %w", err)
		case row.Result != "":
			return row.Result, nil
		case time.Now().After(deadline):
			return "", fmt.Errorf("%w (%w)", ErrInProgress, apperr.ErrConflict)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// prune forgets old keys now and then (one submit in fifty), so the table
// stays small without a job of its own.
func (k *FormKeys) prune(db *gorm.DB) {
	if time.Now().UnixNano()%50 != 0 {
		return
	}
	_ = db.Where("created_at < ?", time.Now().UTC().Add(-k.Keep)).Delete(&formKey{}).Error
}

// Done sends the browser to the page an action led to (303, so a reload
// does not post again), with a message; a repeated submit says it was
// already done.
func (s *Site) Done(c *gin.Context, to string, repeated bool, msg string) {
	if repeated {
		msg = s.Lang(c).T("Already done: this form had been sent once.")
	}
	if msg != "" {
		Flash(c, msg, false)
	}
	c.Redirect(http.StatusSeeOther, to)
	c.Abort()
}
