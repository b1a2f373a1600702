package partners

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Hasher hashes passwords with argon2id. MemoryKiB is configurable so that
// tests can use a cheap setting; production keeps the OWASP default (19 MiB
// a hash). Hashes run one per core at most, and a short queue waits for
// them: past it a check is refused at once (503), so that a burst of logins
// neither holds gigabytes nor makes everyone wait seconds.
type Hasher struct {
	params *argon2id.Params
	dummy  string
	// slots holds one token per hash running.
	slots chan struct{}
	// admitted counts the checks running or waiting; at most maxAdmitted.
	admitted    atomic.Int64
	maxAdmitted int64
}

// ErrBusy is a password check refused because too many are running.
var errHasherBusy = &apperr.BusyError{RetryAfter: time.Second,
	Detail: "too many password checks at once; try again in a moment"}

// NewHasher returns a Hasher using memoryKiB of memory per hash.
func NewHasher(memoryKiB int) (*Hasher, error) {
	cores := max(1, runtime.GOMAXPROCS(0))
	h := &Hasher{params: &argon2id.Params{
		Memory: uint32(memoryKiB), Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32,
	}, slots: make(chan struct{}, cores), maxAdmitted: int64(32 * cores)}
	dummy, err := argon2id.CreateHash("a password nobody has", h.params)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

// Ticket is a place among the password checks, taken before the work that
// leads to one (a login reserves its attempt while holding it).
type Ticket struct {
	h    *Hasher
	done atomic.Bool
}

// Admit takes a place, or refuses at once when the queue is full.
func (h *Hasher) Admit() (*Ticket, error) {
	if h.admitted.Add(1) > h.maxAdmitted {
		h.admitted.Add(-1)
		return nil, errHasherBusy
	}
	return &Ticket{h: h}, nil
}

// Done gives the place back; it may be called more than once.
func (t *Ticket) Done() {
	if t.done.CompareAndSwap(false, true) {
		t.h.admitted.Add(-1)
	}
}

// run waits for a core and runs fn on it.
func (t *Ticket) run(ctx context.Context, fn func()) error {
	select {
	case t.h.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a password check: %w", ctx.Err())
	}
	defer func() { <-t.h.slots }()
	fn()
	return nil
}

// Verify tells whether password matches hash. An empty hash (unknown user)
// still spends the time of a real check, so timing does not reveal accounts.
func (t *Ticket) Verify(ctx context.Context, password, hash string) (bool, error) {
	var ok bool
	err := t.run(ctx, func() {
		if hash == "" {
			_, _ = argon2id.ComparePasswordAndHash(password, t.h.dummy)
			return
		}
		match, err := argon2id.ComparePasswordAndHash(password, hash)
		ok = err == nil && match
	})
	return ok, err
}

// Hash returns the encoded hash of password.
func (t *Ticket) Hash(ctx context.Context, password string) (string, error) {
	var s string
	var herr error
	if err := t.run(ctx, func() { s, herr = argon2id.CreateHash(password, t.h.params) }); err != nil {
		return "", err
	}
	if herr != nil {
		return "", fmt.Errorf("hash password: %w", herr)
	}
	return s, nil
}

// Hash admits, hashes and lets go: for the one-off hashes of account
// administration.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	t, err := h.Admit()
	if err != nil {
		return "", err
	}
	defer t.Done()
	return t.Hash(ctx, password)
}
