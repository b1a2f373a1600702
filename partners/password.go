package partners

import (
	"fmt"

	"github.com/alexedwards/argon2id"
)

// Hasher hashes passwords with argon2id. MemoryKiB is configurable so that
// tests can use a cheap setting; production keeps the OWASP default.
type Hasher struct {
	params *argon2id.Params
	dummy  string
}

// NewHasher returns a Hasher using memoryKiB of memory per hash.
func NewHasher(memoryKiB int) (*Hasher, error) {
	h := &Hasher{params: &argon2id.Params{
		Memory: uint32(memoryKiB), Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32,
	}}
	dummy, err := h.Hash("a password nobody has")
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Hash returns the encoded hash of password.
func (h *Hasher) Hash(password string) (string, error) {
	s, err := argon2id.CreateHash(password, h.params)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return s, nil
}

// Verify tells whether password matches hash. An empty hash (unknown user)
// still spends the time of a real check, so timing does not reveal accounts.
func (h *Hasher) Verify(password, hash string) bool {
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, h.dummy)
		return false
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}
