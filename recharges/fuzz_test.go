package recharges

import (
	"bytes"
	"testing"
	"time"
)

func FuzzRechargeCSV(f *testing.F) {
	for _, s := range []string{
		"serial,pin,expires_on\nA1,1234,2099-01-01\n",
		"serial;pin;expires_on\r\nA1;;2099-01-01\r\n",
		"serial,pin,expires_on\nA1,1234,2020-01-01\n,1,2099-01-01\n",
		"", "serial\n", "x,y,z\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := newRechargeParser(bytes.NewReader(data), time.Now().Format(time.DateOnly), 1, &Service{}, nil)
		if err != nil {
			return
		}
		for p.nextWithoutSeal() {
			serial, expires := p.cur.serial, p.cur.expires
			if serial == "" || len(expires) != 10 || expires < p.today {
				t.Fatalf("accepted %q / %q", serial, expires)
			}
		}
	})
}
