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

// loginAttempt is a password check, counted before it is made (see
// reserveAttempt). Via tells a login from the current password asked
// before a password change: each meets its own limit.
type loginAttempt struct {
	ID      int64
	Email   string
	IP      string
	Via     string
	Success bool
	Pending bool
	At      time.Time
}

const (
	viaLogin           = "login"
	viaCurrentPassword = "current_password"
)

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
	// A place among the password checks first (a fast 503 past the
	// queue), then the attempt counted under the limits' lock: concurrent
	// guesses meet the limits exactly, and none is hashed past them.
	ticket, err := s.hasher.Admit()
	if err != nil {
		return Session{}, err
	}
	defer ticket.Done()
	attempt, err := s.reserveAttempt(ctx, email, cl.IP, viaLogin)
	if err != nil {
		return Session{}, err
	}

	var u User
	err = s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Session{}, fmt.Errorf("find user: %w", err)
	}
	ok, err := ticket.Verify(ctx, cr.Password, u.PasswordHash)
	if err != nil {
		// Unsettled, the check counts as a failure once pendingFor is past.
		return Session{}, err
	}
	ticket.Done()
	if ok {
		if ok, err = s.active(ctx, u); err != nil {
			return Session{}, err
		}
	}
	if !ok {
		if err := s.settleAttempt(ctx, s.db.DB, attempt, false); err != nil {
			return Session{}, err
		}
		if err := s.loginFailed(ctx, email, u.ID, viaLogin); err != nil {
			return Session{}, err
		}
		return Session{}, errBadCredentials
	}

	return s.openSession(ctx, u, kind, cl, map[string]any{"kind": kind}, func(tx *gorm.DB) error {
		return s.settleAttempt(ctx, tx, attempt, true)
	})
}

// openSession opens a bearer token or a session for u, with also (the
// login attempt settled) in the same transaction, and audits the login.
func (s *Service) openSession(ctx context.Context, u User, kind TokenKind, cl Client, audited map[string]any, also func(tx *gorm.DB) error) (Session, error) {
	secret, err := newSecret()
	if err != nil {
		return Session{}, err
	}
	now := s.now()
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
		if also != nil {
			if err := also(tx); err != nil {
				return err
			}
		}
		if err := tx.Model(&User{}).Where("id = ?", u.ID).Update("last_login_at", now).Error; err != nil {
			return fmt.Errorf("update last login: %w", err)
		}
		uid := u.ID
		actx := audit.WithActor(ctx, withUser(audit.ActorFrom(ctx), &uid, u.OrganizationID))
		return audit.Record(actx, tx, "auth.login", "user", u.ID, audited)
	})
	if err != nil {
		return Session{}, err
	}
	u.LastLoginAt = &now
	return Session{Token: secret, ExpiresAt: tok.ExpiresAt, User: u}, nil
}

// reserveAttempt counts a password check before it is made: under a lock
// on the account's (and for a login the address's) key, it refuses past the
// limits, else records the check as pending, to be settled a success or a
// failure (settleAttempt). When the checks in progress could reach a limit
// it waits for them, so that exactly the limit's number of wrong passwords
// are checked however many arrive together, and a burst of right ones goes
// through. Reading the count and recording the attempt apart let 76 of 100
// concurrent guesses through a limit of 5.
func (s *Service) reserveAttempt(ctx context.Context, email, ip, via string) (int64, error) {
	keys := []string{"login-account:" + via + ":" + email}
	if ip != "" && via == viaLogin {
		keys = append(keys, "login-address:"+ip)
	}
	give := time.NewTimer(reserveWait)
	defer give.Stop()
	for {
		var id int64
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := s.db.LockKeys(tx, keys...); err != nil {
				return err
			}
			if err := s.checkLoginRate(tx, email, ip, via); err != nil {
				return err
			}
			a := loginAttempt{Email: email, IP: ip, Via: via, Pending: true, At: s.now()}
			if err := tx.Create(&a).Error; err != nil {
				return fmt.Errorf("record login attempt: %w", err)
			}
			id = a.ID
			return nil
		})
		if !errors.Is(err, errWait) {
			return id, err
		}
		select {
		case <-time.After(reserveRetry):
		case <-give.C:
			return 0, errHasherBusy
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for password checks in progress: %w", ctx.Err())
		}
	}
}

// How long a password check waits for the ones in progress, and how often
// it asks again.
const (
	reserveWait  = 5 * time.Second
	reserveRetry = 20 * time.Millisecond
)

// settleAttempt records the outcome of a reserved check.
func (s *Service) settleAttempt(ctx context.Context, db *gorm.DB, id int64, ok bool) error {
	if err := db.WithContext(ctx).Model(&loginAttempt{}).Where("id = ?", id).
		Updates(map[string]any{"success": ok, "pending": false}).Error; err != nil {
		return fmt.Errorf("record login attempt: %w", err)
	}
	return nil
}

// loginFailed audits a wrong password (its attempt is already counted);
// via says where it was typed (the login, or the current password asked
// before a change).
func (s *Service) loginFailed(ctx context.Context, email string, userID int64, via string) error {
	data := map[string]any{"email": email}
	if via != viaLogin {
		data["via"] = via
	}
	return audit.Record(ctx, s.db.WithContext(ctx), "auth.login_failed", "user", userID, data)
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

// pendingFor is how long a check recorded before it is made counts as in
// progress; past it (a process killed mid-check) it counts as a failure.
const pendingFor = time.Minute

// errWait means the limit would be met if the checks in progress failed:
// the caller waits for them, then asks again.
var errWait = errors.New("password checks in progress")

// checkLoginRate refuses a password check once an account (for that use of
// the password) or an address (for logins) has failed too often within the
// window; it says to wait when the checks in progress could reach the
// limit, so that a burst of right passwords is not refused for its own
// weight. A success resets the account's count.
func (s *Service) checkLoginRate(db *gorm.DB, email, ip, via string) error {
	now := s.now()
	since := now.Add(-s.limits.Window)
	fresh := now.Add(-pendingFor)

	var lastOK loginAttempt
	err := db.Where("email = ? AND via = ? AND success = ? AND at > ?", email, via, true, since).Order("at DESC").Take(&lastOK).Error
	userSince := since
	switch {
	case err == nil:
		userSince = lastOK.At
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("read login attempts: %w", err)
	}
	if err := s.limitOf(db.Where("email = ? AND via = ?", email, via), userSince, fresh, s.limits.MaxPerUser,
		"too many failed logins for this account; try again later"); err != nil {
		return err
	}
	if ip == "" || via != viaLogin {
		return nil
	}
	return s.limitOf(db.Where("ip = ? AND via = ?", ip, viaLogin), since, fresh, s.limits.MaxPerAddr,
		"too many failed logins from this address; try again later")
}

// limitOf applies one limit to the attempts q selects since a moment:
// failures (a pending check past pendingFor included) reaching max refuse;
// failures and checks in progress together reaching it wait.
func (s *Service) limitOf(q *gorm.DB, since, fresh time.Time, max int, detail string) error {
	var failures []loginAttempt
	if err := q.Session(&gorm.Session{}).Where("success = ? AND at > ? AND (pending = ? OR at <= ?)", false, since, false, fresh).
		Order("at").Limit(max).Find(&failures).Error; err != nil {
		return fmt.Errorf("read login attempts: %w", err)
	}
	if len(failures) >= max {
		return &apperr.RateLimitError{RetryAfter: failures[0].At.Add(s.limits.Window).Sub(s.now()), Detail: detail}
	}
	// Failures and checks in progress in one count: two statements would
	// each see the database at their own moment (PostgreSQL reads committed
	// data per statement), and a check settled between them was counted by
	// neither. A settled check stays counted, or leaves as a success.
	var unsettled int64
	if err := q.Session(&gorm.Session{}).Model(&loginAttempt{}).Where("success = ? AND at > ?", false, since).Count(&unsettled).Error; err != nil {
		return fmt.Errorf("read login attempts: %w", err)
	}
	if unsettled >= int64(max) {
		return errWait
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

// ErrNoAccount is a verified email that matches no active account.
var ErrNoAccount = fmt.Errorf("no active account has this email: %w", apperr.ErrUnauthenticated)

// LoginVerified opens a session for the active account whose email a
// sign-in provider has verified (single sign-on). No account is ever
// created: an unknown email, an inactive account or organisation gets
// ErrNoAccount, and is audited.
func (s *Service) LoginVerified(ctx context.Context, email, provider string, kind TokenKind, cl Client) (Session, error) {
	email = normalizeEmail(email)
	if email == "" || len(email) > maxEmailLen || !textcheck.CleanLine(email) {
		return Session{}, ErrNoAccount
	}
	var u User
	err := s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return Session{}, fmt.Errorf("find user: %w", err)
	}
	ok := err == nil
	if ok {
		if ok, err = s.active(ctx, u); err != nil {
			return Session{}, err
		}
	}
	if !ok {
		if err := audit.Record(ctx, s.db.DB, "auth.sso_refused", "user", u.ID, map[string]any{"provider": provider, "email": email}); err != nil {
			return Session{}, err
		}
		return Session{}, ErrNoAccount
	}
	return s.openSession(ctx, u, kind, cl, map[string]any{"kind": kind, "provider": provider}, nil)
}

// active tells whether u may log in: the account and its organisation
// active.
func (s *Service) active(ctx context.Context, u User) (bool, error) {
	if !u.Active {
		return false, nil
	}
	if u.OrganizationID == nil {
		return true, nil
	}
	var o Organization
	if err := s.db.WithContext(ctx).Where("id = ?", *u.OrganizationID).Take(&o).Error; err != nil {
		return false, fmt.Errorf("find organization of user %d: %w", u.ID, err)
	}
	return o.Active, nil
}
