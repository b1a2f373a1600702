package money

import "testing"

func TestFrenchWords(t *testing.T) {
	for cents, want := range map[int64]string{
		100:           "un euro",
		200:           "deux euros",
		2100:          "vingt et un euros",
		7100:          "soixante et onze euros",
		7200:          "soixante-douze euros",
		8000:          "quatre-vingts euros",
		8100:          "quatre-vingt-un euros",
		9100:          "quatre-vingt-onze euros",
		9900:          "quatre-vingt-dix-neuf euros",
		20000:         "deux cents euros",
		20100:         "deux cent un euros",
		100000:        "mille euros",
		8000000:       "quatre-vingt mille euros",
		20000000:      "deux cent mille euros",
		123456:        "mille deux cent trente-quatre euros et cinquante-six centimes",
		1700000:       "dix-sept mille euros",
		100000000:     "un million d'euros",
		250000000:     "deux millions cinq cent mille euros",
		1:             "un centime",
		50:            "cinquante centimes",
		1234567891234: "douze milliards trois cent quarante-cinq millions six cent soixante-dix-huit mille neuf cent douze euros et trente-quatre centimes",
	} {
		if got := FrenchWords(cents); got != want {
			t.Errorf("%d: %q, want %q", cents, got, want)
		}
	}
}
