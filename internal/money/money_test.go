package money

import "testing"

func TestEUR(t *testing.T) {
	for cents, want := range map[int64]string{
		0: "0,00\u00a0€", 5: "0,05\u00a0€", 4500: "45,00\u00a0€", 123450: "1\u00a0234,50\u00a0€",
		100000000: "1\u00a0000\u00a0000,00\u00a0€", -250: "-2,50\u00a0€",
	} {
		if got := EUR(cents); got != want {
			t.Errorf("EUR(%d) = %q, want %q", cents, got, want)
		}
	}
}
