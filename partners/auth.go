package partners

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/tremplin/tremplin/internal/apperr"
	"github.com/tremplin/tremplin/internal/audit"
	"github.com/tremplin/tremplin/internal/textcheck"
)

// TokenKind tells an API bearer token from a web UI session.
type TokenKind string

const (
	TokenBearer  TokenKind = "bearer"
	TokenSession TokenKind = "session"
)

// authToken is a bearer token or a session; only the SHA-256 of its secret is
// stored, so a copy of the database gives no way in.
type authToken struct {
	ID        int64
	Kind      TokenKind
	TokenHash string
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
	IP        string
	UserAgent string
}

func (authToken) TableName() string { return "auth_tokens" }

type loginAttempt struct {
	ID      int64
	Email   string
	IP      string
	Success bool
	At      time.Time
}

func (loginAttempt) TableName() string { return "login_attempts" }

const tokenPrefix = "trp_"

func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Credentials is the input of Login.
type Credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Client describes where a login comes from.
type Client struct {
	IP        string
	UserAgent string
}

// Session is what a successful login returns: the secret, given once.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

var errBadCredentials = fmt.Errorf("email or password is incorrect: %w", apperr.ErrUnauthenticated)

// Login checks credentials and opens a bearer token or a session. Failed
// attempts are counted per account and per address (429 past the limits) and
// audited.
func (s *Service) Login(ctx context.Context, cr Credentials, kind TokenKind, cl Client) (Session, error) {
	email := normalizeEmail(cr.Email)
	v := &apperr.ValidationError{}
	if email == "" {
		v.Field("email", "is required")
	}
	if cr.Password == "" {
		v.Field("password", "is required")
	}
	if err := v.Err(); err != nil {
		return Session{}, err
	}
	// Nothing with a control character reaches the database (PostgreSQL
	// refuses a NUL): such credentials are wrong ones.
	if len(email) > maxEmailLen || len(cr.Password) > maxPasswordLen || !textcheck.CleanLine(email) || !textcheck.Clean(cr.Password) {
		return Session{}, errBadCredentials
	}
	if err := s.checkLoginRate(ctx, email, cl.IP); err != nil {
		return Session{}, err
	}

	var u User
	err := s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Session{}, fmt.Errorf("find user: %w", err)
	}
	ok := s.hasher.Verify(cr.Password, u.PasswordHash) && u.Active
	if ok && u.OrganizationID != nil {
		var o Organization
		if err := s.db.WithContext(ctx).Where("id = ?", *u.OrganizationID).Take(&o).Error; err != nil {
			return Session{}, fmt.Errorf("find organization of user %d: %w", u.ID, err)
		}
		ok = o.Active
	}
	now := s.now()
	if !ok {
		if err := s.loginFailed(ctx, email, cl.IP, u.ID, "login"); err != nil {
			return Session{}, err
		}
		return Session{}, errBadCredentials
	}

	secret, err := newSecret()
	if err != nil {
		return Session{}, err
	}
	ttl := s.tokenTTL
	if kind == TokenSession {
		ttl = s.sessionTTL
	}
	tok := authToken{Kind: kind, TokenHash: hashSecret(secret), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(ttl),
		IP: cl.IP, UserAgent: truncate(cl.UserAgent, 300)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&tok).Error; err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		if err := tx.Create(&loginAttempt{Email: email, IP: cl.IP, Success: true, At: now}).Error; err != nil {
			return fmt.Errorf("record login attempt: %w", err)
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("last_login_at", now).Error; err != nil {
			return fmt.Errorf("update last login: %w", err)
		}
		uid := u.ID
		actx := audit.WithActor(ctx, withUser(audit.ActorFrom(ctx), &uid, u.OrganizationID))
		return audit.Record(actx, tx, "auth.login", "user", u.ID, map[string]any{"kind": kind})
	})
	if err != nil {
		return Session{}, err
	}
	u.LastLoginAt = &now
	return Session{Token: secret, ExpiresAt: tok.ExpiresAt, User: u}, nil
}

// loginFailed counts a wrong password toward the login limits and audits it;
// via says where it was typed (the login, or the current password asked
// before a change).
func (s *Service) loginFailed(ctx context.Context, email, ip string, userID int64, via string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&loginAttempt{Email: email, IP: ip, Success: false, At: s.now()}).Error; err != nil {
			return fmt.Errorf("record login attempt: %w", err)
		}
		data := map[string]any{"email": email}
		if via != "login" {
			data["via"] = via
		}
		return audit.Record(ctx, tx, "auth.login_failed", "user", userID, data)
	})
}

func withUser(a audit.Actor, userID, orgID *int64) audit.Actor {
	a.UserID = userID
	a.OrganizationID = orgID
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// checkLoginRate refuses a login once an account or an address has failed too
// often within the window. A success resets the account's count.
func (s *Service) checkLoginRate(ctx context.Context, email, ip string) error {
	since := s.now().Add(-s.limits.Window)
	db := s.db.WithContext(ctx)

	var lastOK loginAttempt
	err := db.Where("email = ? AND success = ? AND at > ?", email, true, since).Order("at DESC").Take(&lastOK).Error
	userSince := since
	switch {
	case err == nil:
		userSince = lastOK.At
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("read login attempts: %w", err)
	}
	var failures []loginAttempt
	if err := db.Where("email = ? AND success = ? AND at > ?", email, false, userSince).Order("at").
		Limit(s.limits.MaxPerUser).Find(&failures).Error; err != nil {
		return fmt.Errorf("read login attempts: %w", err)
	}
	if len(failures) >= s.limits.MaxPerUser {
		return &apperr.RateLimitError{
			RetryAfter: failures[0].At.Add(s.limits.Window).Sub(s.now()),
			Detail:     "too many failed logins for this account; try again later",
		}
	}
	if ip == "" {
		return nil
	}
	failures = failures[:0]
	if err := db.Where("ip = ? AND success = ? AND at > ?", ip, false, since).Order("at").
		Limit(s.limits.MaxPerAddr).Find(&failures).Error; err != nil {
		return fmt.Errorf("read login attempts: %w", err)
	}
	if len(failures) >= s.limits.MaxPerAddr {
		return &apperr.RateLimitError{
			RetryAfter: failures[0].At.Add(s.limits.Window).Sub(s.now()),
			Detail:     "too many failed logins from this address; try again later",
		}
	}
	return nil
}

// Authenticate resolves a bearer token or session secret to its caller.
func (s *Service) Authenticate(ctx context.Context, secret string, kind TokenKind) (Caller, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return Caller{}, fmt.Errorf("unknown token: %w", apperr.ErrUnauthenticated)
	}
	key := authKey{hashSecret(secret), kind}
	hit, ok, gen := s.auth.get(key)
	if ok && hit.expiresAt.After(s.now()) {
		return hit.caller, nil
	}
	var row struct {
		TokenID   int64
		ExpiresAt time.Time
		RevokedAt *time.Time
		User
		OrgKind     *Kind
		OrgTimezone *string
		OrgName     *string
		OrgActive   *bool
	}
	err := s.db.WithContext(ctx).Table("auth_tokens").
		Select("auth_tokens.id AS token_id, auth_tokens.expires_at, auth_tokens.revoked_at, users.*, "+
			"organizations.kind AS org_kind, organizations.timezone AS org_timezone, organizations.name AS org_name, organizations.active AS org_active").
		Joins("JOIN users ON users.id = auth_tokens.user_id").
		Joins("LEFT JOIN organizations ON organizations.id = users.organization_id").
		Where("auth_tokens.token_hash = ? AND auth_tokens.kind = ?", key.hash, kind).
		Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return Caller{}, fmt.Errorf("unknown token: %w", apperr.ErrUnauthenticated)
	case err != nil:
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	case row.RevokedAt != nil:
		return Caller{}, fmt.Errorf("token was revoked (logged out): %w", apperr.ErrUnauthenticated)
	case !row.ExpiresAt.After(s.now()):
		return Caller{}, fmt.Errorf("token expired at %s; log in again: %w", row.ExpiresAt.Format(time.RFC3339), apperr.ErrUnauthenticated)
	case !row.User.Active || (row.OrgActive != nil && !*row.OrgActive):
		return Caller{}, fmt.Errorf("account is deactivated: %w", apperr.ErrUnauthenticated)
	}
	c := Caller{UserID: row.User.ID, Email: row.User.Email, Name: row.User.Name, Role: row.User.Role,
		Timezone: DefaultTimezone, TokenID: row.TokenID, Language: row.User.Language}
	if row.User.OrganizationID != nil {
		c.OrganizationID = *row.User.OrganizationID
		c.OrganizationKind = *row.OrgKind
		c.Timezone = *row.OrgTimezone
		c.OrganizationName = *row.OrgName
	}
	s.auth.put(key, cachedCaller{caller: c, expiresAt: row.ExpiresAt}, gen)
	return c, nil
}

// Logout revokes the token or session the caller used.
func (s *Service) Logout(ctx context.Context, c Caller) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&authToken{}).Where("id = ? AND revoked_at IS NULL", c.TokenID).
			Update("revoked_at", s.now()).Error; err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return audit.Record(ctx, tx, "auth.logout", "user", c.UserID, nil)
	})
}

// Me returns the caller's own user record.
func (s *Service) Me(ctx context.Context, c Caller) (User, error) {
	return s.GetUser(ctx, Caller{Role: RoleAdmin}, c.UserID)
}
