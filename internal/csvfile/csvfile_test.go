package csvfile

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/tremplin/tremplin/internal/apperr"
)

var spec = Spec{Columns: []string{"serial", "pin", "expires_on"}, Required: []string{"serial", "expires_on"}, What: "card"}

// readAll returns the good lines as "line:serial/pin" and the bad ones as
// "!" + the first letter of the message + the line.
func readAll(t *testing.T, s string) ([]string, error) {
	f, err := Open(strings.NewReader(s), spec)
	if err != nil {
		return nil, err
	}
	var out []string
	for {
		rec, err := f.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var bad *LineError
		if errors.As(err, &bad) {
			out = append(out, "!"+bad.Message[:1]+string(rune('0'+bad.Line)))
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(rune('0'+rec.Line))+":"+rec.Get("serial")+"/"+rec.Get("pin"))
	}
}

func TestFormats(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"comma, LF":                 {"serial,pin,expires_on\nA,1,2030-01-01\nB,2,2030-01-01\n", "2:A/1 3:B/2"},
		"BOM, semicolon, CRLF":      {"\ufeffSerial;PIN;Expires_On\r\nA;1;x\r\n\r\n;;\r\nB;;x", "2:A/1 5:B/"},
		"other order, no pin":       {"expires_on,serial\nx,A\n", "2:A/"},
		"bare quote, then going on": {"serial,pin,expires_on\nA\"x,1,y\nB,2,z\n", "!u2 3:B/2"},
		"too many cells":            {"serial,pin,expires_on\nA,1,y,extra\nB,2,z\n", "!42 3:B/2"},
	} {
		got, err := readAll(t, c.in)
		if err != nil || strings.Join(got, " ") != c.want {
			t.Errorf("%s: %v %v, want %s", name, got, err, c.want)
		}
	}
}

func TestHeaderProblems(t *testing.T) {
	for name, in := range map[string]string{
		"empty": "", "missing column": "serial,pin\nA,1\n", "unknown column": "serial,pin,expires_on,colour\n",
		"twice": "serial,serial,expires_on\n", "bare quote in header": "se\"rial,pin\n",
	} {
		_, err := Open(strings.NewReader(in), spec)
		if !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// failing gives some text, then the same error forever.
type failing struct {
	r   io.Reader
	err error
	n   int
}

func (f *failing) Read(p []byte) (int, error) {
	if n, err := f.r.Read(p); n > 0 || err == nil {
		return n, nil
	}
	f.n++
	return 0, f.err
}

func TestReadErrorsEndTheReading(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{{io.ErrUnexpectedEOF, apperr.ErrMalformed}, {&http.MaxBytesError{Limit: 1 << 20}, apperr.ErrTooLarge}} {
		src := &failing{r: strings.NewReader("serial,pin,expires_on\nA,1,x\nB,2"), err: c.err}
		f, err := Open(src, spec)
		if err != nil {
			t.Fatal(err)
		}
		var last error
		for range 10 {
			if _, last = f.Next(); last != nil && !errors.As(last, new(*LineError)) {
				break
			}
		}
		// One failed read while the start is sniffed for its encoding, one
		// that ends the reading, and no more.
		if !errors.Is(last, c.want) || src.n > 3 {
			t.Errorf("%v: ended with %v after %d failed reads", c.err, last, src.n)
		}
	}
}

// TestEncodings: a file as French Excel saves it (Windows-1252), as UTF-16
// with its mark, or as UTF-8 with or without one reads the same; UTF-16
// without its mark is refused naming the encoding, and so is a later line
// that is not UTF-8 in a UTF-8 file. Before, Windows-1252 was stored with
// U+FFFD (« Galaxy � ») and UTF-16 refused as an unknown column.
func TestEncodings(t *testing.T) {
	text := "serial;pin;expires_on\nSÉRIE-é;1234;2030-01-31\n"
	latin1, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	utf16le, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(text)
	utf16be, _ := unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().String(text)
	for name, raw := range map[string]string{"utf-8": text, "utf-8 bom": "\xef\xbb\xbf" + text, "windows-1252": latin1,
		"utf-16le": utf16le, "utf-16be": utf16be} {
		f, err := Open(strings.NewReader(raw), spec)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		rec, err := f.Next()
		if err != nil || rec.Get("serial") != "SÉRIE-é" || rec.Get("pin") != "1234" {
			t.Errorf("%s: read %q, %v", name, rec.Get("serial"), err)
		}
	}
	noMark, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(text)
	if _, err := Open(strings.NewReader(noMark), spec); err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("UTF-16 without a mark: %v", err)
	}
	// A UTF-8 start, then a line in another encoding past what is sniffed.
	late := "serial,pin,expires_on\n" + strings.Repeat("A-1,1,2030-01-31\n", 5000) + "B-\xe9,1,2030-01-31\n"
	f, err := Open(strings.NewReader(late), spec)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := f.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("the line that is not UTF-8 was read as a good one")
		}
		var le *LineError
		if errors.As(err, &le) {
			if le.Line != 5002 || !strings.Contains(le.Message, "UTF-8") {
				t.Fatalf("line error %+v", le)
			}
			break
		}
	}
}
