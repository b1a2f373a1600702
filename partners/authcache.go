package partners

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// authCache keeps the callers of tokens and sessions answered in the last
// second, so that a burst of requests (a scanner at work, the bench's
// scans) does not send the same authentication query before each of
// them: a second round trip and a second wait for a pooled connection,
// which made the tail of a scan's latency.
//
// Any write of this process to the tables an answer comes from
// (auth_tokens, users, organizations: a logout, a deactivation, a new
// password, a role) empties it at once and keeps it from filling for two
// seconds, so that an answer read before such a transaction commits is not
// kept. Another process sees such a change within a second.
type authCache struct {
	mu      sync.Mutex
	entries map[authKey]cachedCaller
	gen     uint64    // bumped by each invalidation
	closed  time.Time // nothing is kept before then
}

type authKey struct {
	hash string
	kind TokenKind
}

type cachedCaller struct {
	caller    Caller
	expiresAt time.Time // the token's own expiry
	stored    time.Time // real time, for the cache's second
}

const (
	authCacheTTL   = time.Second
	authCacheQuiet = 2 * time.Second
	authCacheMax   = 10_000
)

func newAuthCache() *authCache { return &authCache{entries: map[authKey]cachedCaller{}} }

// get is a caller answered less than a second ago, with the generation to
// store a fresh answer under.
func (a *authCache) get(k authKey) (cachedCaller, bool, uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[k]
	if ok && time.Since(e.stored) >= authCacheTTL {
		delete(a.entries, k)
		ok = false
	}
	return e, ok, a.gen
}

// put keeps an answer read under generation gen, unless an invalidation
// came meanwhile or lately.
func (a *authCache) put(k authKey, e cachedCaller, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen != a.gen || time.Now().Before(a.closed) {
		return
	}
	if len(a.entries) >= authCacheMax {
		clear(a.entries)
	}
	e.stored = time.Now()
	a.entries[k] = e
}

func (a *authCache) invalidate() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.entries)
	a.gen++
	a.closed = time.Now().Add(authCacheQuiet)
}

// watch empties the cache on every write through db that touches the
// tables an authentication reads.
func (a *authCache) watch(db *gorm.DB) error {
	touches := func(tx *gorm.DB) {
		if loginStamp(tx.Statement.SQL.String()) {
			return // a login's time changes no one's rights
		}
		switch tx.Statement.Table {
		case "auth_tokens", "users", "organizations":
			a.invalidate()
			return
		}
		sql := strings.ToLower(tx.Statement.SQL.String())
		if strings.Contains(sql, "auth_tokens") || strings.Contains(sql, "users") || strings.Contains(sql, "organizations") {
			a.invalidate()
		}
	}
	name := fmt.Sprintf("partners:auth-cache-%p", a)
	cb := db.Callback()
	for _, err := range []error{
		cb.Update().After("gorm:update").Register(name, touches),
		cb.Delete().After("gorm:delete").Register(name, touches),
		cb.Raw().After("gorm:raw").Register(name, touches),
	} {
		if err != nil {
			return fmt.Errorf("auth cache: %w", err)
		}
	}
	return nil
}

// loginStamp tells the update that records a login's time alone (GORM
// adds updated_at to it).
func loginStamp(sql string) bool {
	sql = strings.NewReplacer(`"`, "", "`", "").Replace(strings.ToLower(sql))
	rest, ok := strings.CutPrefix(sql, "update users set ")
	set, _, found := strings.Cut(rest, " where ")
	if !ok || !found {
		return false
	}
	stamp := false
	for _, part := range strings.Split(set, ",") {
		switch col, _, _ := strings.Cut(part, "="); strings.TrimSpace(col) {
		case "last_login_at":
			stamp = true
		case "updated_at":
		default:
			return false
		}
	}
	return stamp
}
