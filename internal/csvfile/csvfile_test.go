package csvfile

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

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
		if !errors.Is(last, c.want) || src.n > 2 {
			t.Errorf("%v: ended with %v after %d failed reads", c.err, last, src.n)
		}
	}
}
