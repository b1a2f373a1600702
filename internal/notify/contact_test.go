package notify

import "testing"

// TestMobileE164: French and overseas mobile numbers as people write them
// become E.164; landlines, foreign and malformed numbers are refused.
func TestMobileE164(t *testing.T) {
	for in, want := range map[string]string{
		"06 12 34 56 78":    "+33612345678",
		"07.81.23.45.67":    "+33781234567",
		"+33 6 12 34 56 78": "+33612345678",
		"0033612345678":     "+33612345678",
		"0692 12 34 56":     "+262692123456",
		"0690 12 34 56":     "+590690123456",
		"0696 12 34 56":     "+596696123456",
		"0694 20 12 34":     "+594694201234",
		"0639 69 12 34":     "+262639691234",
		"01 23 45 67 89":    "",
		"+44 7700 900123":   "",
		"06 12":             "",
		"TEL-00001":         "",
	} {
		got, err := MobileE164(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("MobileE164(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestSMSText: an SMS keeps GSM-7 characters, folds the French ones outside
// it, counts the extended ones double and stops at 160 units.
func TestSMSText(t *testing.T) {
	s := SMSText("Bon NR4H-9E4S à présenter à l’Espace Belleville — réservé jusqu’au 14/12 : 5 € « ça »")
	if !IsGSM7(s) || s != "Bon NR4H-9E4S à présenter à l'Espace Belleville - réservé jusqu'au 14/12 : 5 € \" ca \"" {
		t.Fatalf("folded: %q", s)
	}
	long := SMSText(string(make([]rune, 0)) + repeat("é", 150) + repeat("€", 10))
	if Units(long) > 160 || Units(long) < 159 {
		t.Fatalf("a long text: %d units", Units(long))
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
