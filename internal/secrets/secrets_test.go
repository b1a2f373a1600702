package secrets

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func key(t *testing.T) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRotate(t *testing.T) {
	old, cur := key(t), key(t)
	k1, _ := NewKeyring(old)
	sealed, id, err := k1.Seal([]byte("1234-5678-9012"), []byte("unit 7"))
	if err != nil || bytes.Contains(sealed, []byte("1234-5678")) {
		t.Fatalf("seal: %v", err)
	}
	// Another row's aad does not open it.
	if _, err := k1.Open(sealed, id, []byte("unit 8")); !errors.Is(err, ErrOpen) {
		t.Fatalf("opened with another aad: %v", err)
	}
	// The new key alone cannot; with the old one as previous it can.
	k2, _ := NewKeyring(cur)
	if _, err := k2.Open(sealed, id, []byte("unit 7")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
	k3, _ := NewKeyring(cur, old)
	got, err := k3.Open(sealed, id, []byte("unit 7"))
	if err != nil || string(got) != "1234-5678-9012" {
		t.Fatalf("open with previous key: %q %v", got, err)
	}
	if k3.CurrentID() == id {
		t.Fatal("current key id equals the old one")
	}
	// Two seals of the same PIN differ (random nonces).
	a, _, _ := k3.Seal([]byte("0000"), nil)
	b, _, _ := k3.Seal([]byte("0000"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("same ciphertext twice")
	}
	// A key under the same id that is wrong fails to open, without panicking.
	tampered := append([]byte{}, sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := k3.Open(tampered, id, []byte("unit 7")); !errors.Is(err, ErrOpen) {
		t.Fatalf("tampered: %v", err)
	}
}

func TestParseKeyAndKeyFile(t *testing.T) {
	for _, bad := range []string{"", "not base64!", "c2hvcnQ="} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "data", "secret.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("reload: %v %v", created, err)
	}
}
