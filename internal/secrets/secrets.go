// Package secrets seals small secrets (recharge PINs) with AES-256-GCM. Each
// sealed value records the id of the key that sealed it, so keys can be
// rotated: the current key seals, previous keys still open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnknownKey means a value was sealed with a key this process does not have.
var ErrUnknownKey = errors.New("sealed with a key that is not configured")

// ErrOpen means a sealed value does not open with its key: the key is wrong
// or the value was altered.
var ErrOpen = errors.New("sealed value does not open")

// Keyring holds the current key and the previous ones.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// KeyID names a key without revealing it.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("tremplin key id\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

// ParseKey decodes a base64 key of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		k, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("%d bytes, want 32 (generate one with: openssl rand -base64 32)", len(k))
	}
	return k, nil
}

// NewKeyring uses current to seal, and current and previous to open.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, previous...) {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

// CurrentID is the id of the key that seals.
func (k *Keyring) CurrentID() string { return k.current }

// Seal encrypts plaintext bound to aad (a value that identifies the row, so a
// sealed PIN cannot be moved to another unit). It returns nonce||ciphertext
// and the key id.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, string, error) {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, aad), k.current, nil
}

// Open decrypts a value sealed by Seal.
func (k *Keyring) Open(sealed []byte, keyID string, aad []byte) ([]byte, error) {
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("key id %s: %w (set TREMPLIN_SECRET_KEY, or TREMPLIN_SECRET_KEY_PREVIOUS for an old key)", keyID, ErrUnknownKey)
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, fmt.Errorf("key id %s: %w", keyID, ErrOpen)
	}
	out, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, fmt.Errorf("key id %s: %w", keyID, ErrOpen)
	}
	return out, nil
}

// LoadOrCreateKeyFile reads the key kept in a file, or creates the file with
// a new random key (mode 0600). created tells which.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		// Like ssh with a private key: a key others may read is not a secret.
		if st, serr := os.Stat(path); serr == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("%s may be read by other users (mode %v): it seals the recharge PINs; run `chmod 600 %s`, then start again",
				path, st.Mode().Perm(), path)
		}
		key, err = ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, false, err
	}
	return key, true, f.Sync()
}
