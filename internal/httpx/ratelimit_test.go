package httpx

import (
	"testing"
	"time"
)

// TestClientLimiter: an address gets its burst, then waits its interval;
// another address is not held by it; an address quiet long enough is
// forgotten.
func TestClientLimiter(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	l := NewClientLimiter(3*time.Second, 2)
	l.now = func() time.Time { return now }
	for i := range 2 {
		if ok, _ := l.allow("1.2.3.4"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("1.2.3.4")
	if ok || wait <= 0 || wait > 3*time.Second {
		t.Fatalf("past the burst: %v, wait %s", ok, wait)
	}
	if ok, _ := l.allow("5.6.7.8"); !ok {
		t.Fatal("another address was refused")
	}
	now = now.Add(3 * time.Second)
	if ok, _ := l.allow("1.2.3.4"); !ok {
		t.Fatal("refused after waiting the interval")
	}
	now = now.Add(forgetAfter + time.Minute)
	l.allow("9.9.9.9")
	if _, kept := l.clients["1.2.3.4"]; kept || len(l.clients) != 1 {
		t.Fatalf("quiet addresses are kept: %d", len(l.clients))
	}
}
