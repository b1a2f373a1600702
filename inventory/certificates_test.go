package inventory_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/tremplin/tremplin/internal/testenv"
)

// verify sends a file to the public verification, without a token.
func (f *fixture) verify(content []byte) map[string]any {
	f.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("file", "certificat.pdf")
	part.Write(content)
	w.Close()
	return f.HTTP.Do("POST", "/api/v1/certificates/verify", "", body.Bytes(), "Content-Type", w.FormDataContentType()).Expect(f.t, 200).Map(f.t)
}

// TestVerifiableCertificates: a donation's certificate is issued once, the
// same bytes on every download, with a QR code of its public view; the
// public view shows each device's erasure and the report's hash, and the
// PDF's SHA-256; verify says valid for it and not for a copy changed by one
// byte. A new erasure makes a new issue, and the first stays verifiable,
// marked as no longer the latest.
func TestVerifiableCertificates(t *testing.T) {
	f := newFixture(t)
	don := f.donation()
	laptop := f.device(don, map[string]any{"category": "laptop", "serial": "PF-CERT-1"})
	phone := f.device(don, map[string]any{"imei": imei(78)})
	for _, d := range []map[string]any{laptop, phone} {
		f.act("warehouse", id(d), map[string]any{"action": "diagnose", "grade": "A", "locks": noLocks}).Expect(t, 200)
	}
	report := testdata(t, "nwipe-passed.log")
	f.report("warehouse", id(laptop), "nwipe.log", report).Expect(t, 201)
	get := func() []byte {
		return f.HTTP.Do("GET", fmt.Sprintf("/api/v1/donations/%d/erasure-certificate.pdf", don), f.Tokens["warehouse"], nil).Expect(t, 200).Body
	}
	first := get()
	if again := get(); !bytes.Equal(first, again) {
		t.Fatal("the certificate downloaded twice is not the same bytes")
	}
	symbols := testenv.DecodePDF(t, first)
	var page string
	for _, s := range symbols {
		if s.Type == "QR-Code" {
			page = s.Data
		}
	}
	if !strings.HasPrefix(page, f.HTTP.URL+"/certificats/") {
		t.Fatalf("the QR code reads %q (symbols %v)", page, symbols)
	}
	code := strings.TrimPrefix(page, f.HTTP.URL+"/certificats/")
	if len(code) < 20 || !strings.Contains(testenv.PDFText(t, first), code) {
		t.Fatalf("the code %q is not printed on the certificate", code)
	}
	sum := sha256.Sum256(first)
	reportSum := sha256.Sum256(report)
	pub := f.HTTP.Do("GET", "/api/v1/certificates/"+code, "", nil).Expect(t, 200).Map(t)
	if pub["sha256"] != hex.EncodeToString(sum[:]) || pub["latest"] != true {
		t.Fatalf("the public view: %v", pub)
	}
	summary := pub["summary"].(map[string]any)
	devices := summary["devices"].([]any)
	if len(devices) != 1 || devices[0].(map[string]any)["tag"] != laptop["tag"] || devices[0].(map[string]any)["report_sha256"] != hex.EncodeToString(reportSum[:]) ||
		summary["pending"] != float64(1) {
		t.Fatalf("the public summary: %v", summary)
	}
	if strings.Contains(fmt.Sprint(pub), "PF-CERT-1") || strings.Contains(fmt.Sprint(pub), "User warehouse") {
		t.Fatalf("the public view shows a serial or a person: %v", pub)
	}
	if v := f.verify(first); v["valid"] != true || v["code"] != code {
		t.Fatalf("verify the certificate: %v", v)
	}
	changed := bytes.Clone(first)
	changed[len(changed)/2] ^= 1
	if v := f.verify(changed); v["valid"] != false || len(v) != 1 {
		t.Fatalf("verify a copy changed by one byte: %v", v)
	}
	f.HTTP.Do("GET", "/api/v1/certificates/NOPE-NOPE", "", nil).ExpectProblem(t, 404)

	// The phone erased: a new issue, a new code; the first stays valid.
	f.act("warehouse", id(phone), map[string]any{"action": "erase", "method": "Blancco Mobile", "result": "passed"}).Expect(t, 200)
	second := get()
	if bytes.Equal(first, second) {
		t.Fatal("a new erasure did not make a new certificate")
	}
	if v := f.verify(second); v["valid"] != true || v["code"] == code {
		t.Fatalf("the second issue: %v", v)
	}
	if pub := f.HTTP.Do("GET", "/api/v1/certificates/"+code, "", nil).Expect(t, 200).Map(t); pub["latest"] != false {
		t.Fatalf("the first issue still says it is the latest: %v", pub)
	}
	if v := f.verify(first); v["valid"] != true {
		t.Fatalf("the first issue no longer verifies: %v", v)
	}
}
