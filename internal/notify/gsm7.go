package notify

import "strings"

// gsm7Basic is GSM 03.38's basic character set: one unit each.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extended costs two units: an escape, then the character.
const gsm7Extended = "^{}\\[~]|€"

// gsm7 maps the characters that are sent as they are.
var gsm7 = func() map[rune]string {
	m := map[rune]string{}
	for _, r := range gsm7Basic + gsm7Extended {
		m[r] = string(r)
	}
	return m
}()

// folded are French characters outside GSM-7, with what an SMS says instead.
var folded = map[rune]string{
	'â': "a", 'ê': "e", 'ë': "e", 'î': "i", 'ï': "i", 'ô': "o", 'û': "u", 'ÿ': "y", 'ç': "c",
	'À': "A", 'Â': "A", 'È': "E", 'Ê': "E", 'Ë': "E", 'Î': "I", 'Ï': "I", 'Ô': "O", 'Ù': "U", 'Û': "U", 'Ÿ': "Y",
	'œ': "oe", 'Œ': "OE", '’': "'", '‘': "'", '«': "\"", '»': "\"", '“': "\"", '”': "\"",
	'\u00a0': " ", '\u202f': " ", '\u2009': " ", '–': "-", '—': "-", '…': "...", '\t': " ",
}

// fold is what an SMS says for a character outside GSM-7.
func fold(r rune) string {
	if t, ok := folded[r]; ok {
		return t
	}
	return "?"
}

// IsGSM7 tells a text an SMS carries as it is.
func IsGSM7(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsm7Basic+gsm7Extended, r) {
			return false
		}
	}
	return true
}

// Units counts a GSM-7 text's 7-bit units (the extended characters two).
func Units(s string) int {
	n := 0
	for _, r := range s {
		n++
		if strings.ContainsRune(gsm7Extended, r) {
			n++
		}
	}
	return n
}
