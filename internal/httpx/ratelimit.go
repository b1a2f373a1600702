package httpx

import (
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/tremplin/tremplin/internal/apperr"
)

// ClientLimiter bounds how often one client address may use the public
// lookups (a certificate's page, its verification), which need no login:
// a token bucket per address (golang.org/x/time/rate), forgotten after a
// quiet while so that the map does not grow with every address seen.
type ClientLimiter struct {
	every   rate.Limit
	burst   int
	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
	now     func() time.Time
}

type client struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewClientLimiter allows each address burst requests at once, then one per
// interval.
func NewClientLimiter(interval time.Duration, burst int) *ClientLimiter {
	return &ClientLimiter{every: rate.Every(interval), burst: burst, clients: map[string]*client{}, now: time.Now}
}

// forgetAfter is how long an address is remembered after its last request.
const forgetAfter = 10 * time.Minute

// allow takes a token for addr, or says how long to wait for one.
func (l *ClientLimiter) allow(addr string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > forgetAfter {
		for a, c := range l.clients {
			if now.Sub(c.seen) > forgetAfter {
				delete(l.clients, a)
			}
		}
		l.swept = now
	}
	c, ok := l.clients[addr]
	if !ok {
		c = &client{lim: rate.NewLimiter(l.every, l.burst)}
		l.clients[addr] = c
	}
	c.seen = now
	r := c.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Middleware refuses a client past its rate with a 429 that says when to
// come back (a page path gets the error page, as every failure).
func (l *ClientLimiter) Middleware() gin.HandlerFunc {
	return Handle(func(c *gin.Context) error {
		if ok, wait := l.allow(c.ClientIP()); !ok {
			return &apperr.RateLimitError{RetryAfter: wait, Detail: "too many lookups from this address: try again in a moment"}
		}
		c.Next()
		return nil
	})
}
