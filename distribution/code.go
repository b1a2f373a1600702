// Package distribution is what reaches people: beneficiaries recorded by
// social prescribers with the least data possible, the eligibility vouchers
// they issue, and (later) the sales at the counter.
package distribution

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/tremplin/tremplin/internal/apperr"
)

// Voucher codes are read aloud, typed by hand and scanned, so:
//
//   - the alphabet has 29 symbols, digits 2-9 and capitals without the
//     look-alikes 0/O, 1/I/L, nor U/V (one of the pair goes, V stays) nor Z
//     (like 2): a symbol never stands for another;
//   - 11 symbols come from a CSPRNG: 29^11 ≈ 2^53.4, unguessable at any rate
//     limit;
//   - a 12th is a check symbol: the weighted sum Σ (i+1)·v_i over the 12
//     symbols is 0 modulo 29. 29 is prime and the weights 1..12 are not
//     multiples of it, so every single substitution changes the sum (caught),
//     and so does every swap of two neighbours (weights differ by 1);
//   - they are shown in three groups of four, K7QM-3XPD-9RTW.
const alphabet = "23456789ABCDEFGHJKMNPQRSTVWXY"

const (
	codeRandom = 11
	codeLen    = codeRandom + 1
	modulus    = len(alphabet) // 29, prime
)

// ErrCodeMistyped means a code is not well formed or its check symbol fails:
// a typo, told apart from a well-formed code that nobody issued.
var ErrCodeMistyped = errors.New("voucher code mistyped")

// MistypedError says how a code is mistyped, as a message and its
// arguments, for a page to say it in its reader's language.
type MistypedError struct {
	Format string
	Args   []any
}

func (e *MistypedError) Error() string {
	return fmt.Sprintf(e.Format, e.Args...) + ": " + ErrCodeMistyped.Error()
}

func (e *MistypedError) Is(target error) bool { return target == ErrCodeMistyped }

func mistyped(format string, args ...any) error { return &MistypedError{Format: format, Args: args} }

// invalidCode is a mistyped code as the field's validation error (the
// other errors as they are).
func invalidCode(field string, err error) error {
	var m *MistypedError
	if errors.As(err, &m) {
		return apperr.Invalid(field, m.Format, m.Args...)
	}
	return err
}

var values = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		v[alphabet[i]] = int8(i)
	}
	return v
}()

// NewCode draws a fresh code (without dashes).
func NewCode() (string, error) {
	out := make([]byte, codeLen)
	buf := make([]byte, 32)
	n := 0
	for n < codeRandom {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random code: %w", err)
		}
		for _, b := range buf {
			// Rejection keeps every symbol equally likely: 232 = 8·29.
			if b < byte(8*modulus) && n < codeRandom {
				out[n] = alphabet[int(b)%modulus]
				n++
			}
		}
	}
	out[codeRandom] = alphabet[checkValue(out[:codeRandom])]
	return string(out), nil
}

// checkValue is the symbol that makes the weighted sum of the 12 zero mod 29.
func checkValue(body []byte) int {
	sum := 0
	for i, c := range body {
		sum += (i + 1) * int(values[c])
	}
	// Solve sum + 12·x ≡ 0 (mod 29): 12⁻¹ ≡ 17 (mod 29), as 12·17 = 204 = 7·29 + 1.
	return ((modulus - sum%modulus) * 17) % modulus
}

// NormalizeCode turns what was typed or scanned into the stored form:
// capitals, without spaces, dashes, dots or underscores, with U read as V
// and Z as 2. It reports ErrCodeMistyped for a code of the wrong length, with
// a symbol that codes never have, or whose check symbol fails.
func NormalizeCode(raw string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(raw) {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '_' || r == '\t' || r == '\r' || r == '\n':
		case r == 'U':
			b.WriteByte('V')
		case r == 'Z':
			b.WriteByte('2')
		case r < 128 && values[r] >= 0:
			b.WriteRune(r)
		default:
			return "", mistyped("%q has a symbol that voucher codes never contain (%q)", raw, r)
		}
	}
	code := b.String()
	if len(code) != codeLen {
		return "", mistyped("a voucher code has %d symbols, %q has %d", codeLen, raw, len(code))
	}
	sum := 0
	for i := 0; i < codeLen; i++ {
		sum += (i + 1) * int(values[code[i]])
	}
	if sum%modulus != 0 {
		return "", mistyped("%q fails its check symbol: a symbol is mistyped", raw)
	}
	return code, nil
}

// VoucherShaped tells what could be a voucher's code, right or mistyped:
// twelve letters or digits once its separators are dropped. Only such a
// code counts toward a person's limit of unknown codes at the counter: a
// device's tag, an IMEI or a command card scanned at the voucher step is
// said for what it is, and counts nothing.
func VoucherShaped(raw string) bool {
	n := 0
	for _, r := range strings.ToUpper(raw) {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '_' || r == '\t' || r == '\r' || r == '\n':
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			n++
		default:
			return false
		}
	}
	return n == codeLen
}

// FormatCode groups a stored code for reading: K7QM-3XPD-9RTW.
func FormatCode(code string) string {
	if len(code) != codeLen {
		return code
	}
	return code[0:4] + "-" + code[4:8] + "-" + code[8:12]
}

// LooksLikeCode tells whether raw could be a voucher code at all (right
// length once spaces and dashes are gone), to route a scan.
func LooksLikeCode(raw string) bool {
	n := 0
	for _, r := range raw {
		if r != ' ' && r != '-' && r != '.' && r != '_' && r != '\t' && r != '\r' && r != '\n' {
			n++
		}
	}
	return n == codeLen
}
