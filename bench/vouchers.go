package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/qr"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/tremplin/tremplin/distribution"
)

const voucherCount = 500

// voucherPDF asks the API for 500 voucher PDFs, one after the other, beside a
// plain fpdf loop drawing 500 documents with the same parts (text, a Code
// 128 and a QR code) in this process.
func voucherPDF(ctx context.Context, e *env) (Result, error) {
	db, err := openBenchDB(e)
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	org, err := insertOrg(ctx, db, "prescriber", "CCAS banc d'essai")
	if err != nil {
		return Result{}, err
	}
	ben, err := insertBeneficiary(ctx, db, org)
	if err != nil {
		return Result{}, err
	}
	codes := make([]string, voucherCount)
	for i := range codes {
		if codes[i], err = distribution.NewCode(); err != nil {
			return Result{}, err
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO vouchers (code, beneficiary_id, organization_id, device_categories, devices_allowed, recharges_allowed,
			valid_until, expires_at, status, created_at) VALUES ($1, $2, $3, '["smartphone","laptop"]', 1, 2, '2027-01-31', now() + interval '60 days', 'active', now())`,
			codes[i], ben, org); err != nil {
			return Result{}, err
		}
	}
	get := func(code string) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.baseURL+"/api/v1/vouchers/"+code+"/voucher.pdf", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || n < 1000 {
			return fmt.Errorf("voucher.pdf: status %d", resp.StatusCode)
		}
		return nil
	}
	start := time.Now()
	for _, c := range codes {
		if err := get(c); err != nil {
			return Result{}, err
		}
	}
	project := voucherCount / time.Since(start).Seconds()

	start = time.Now()
	for _, c := range codes {
		if _, err := plainVoucher(distribution.FormatCode(c)); err != nil {
			return Result{}, err
		}
	}
	reference := voucherCount / time.Since(start).Seconds()
	return Result{Value: f64(project), Unit: "PDF/s", Reference: "plain fpdf loop, same parts", ReferenceValue: f64(reference),
		Note: fmt.Sprintf("%d vouchers, one request at a time", voucherCount)}, nil
}

// plainVoucher draws one A4 page with the voucher's parts using fpdf and
// boombuler directly.
func plainVoucher(code string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.AddUTF8FontFromBytes("gomono", "B", gomonobold.TTF)
	pdf.AddPage()
	pdf.SetFont("go", "B", 20)
	pdf.Text(15, 20, "Bon Tremplin")
	pdf.SetFont("gomono", "B", 26)
	pdf.Text(60, 40, code)
	bc, err := code128.Encode(code)
	if err != nil {
		return nil, err
	}
	for m := range bc.Bounds().Dx() {
		if r, _, _, _ := bc.At(m, 0).RGBA(); r == 0 {
			pdf.Rect(20+float64(m)*0.42, 50, 0.42, 20, "F")
		}
	}
	q, err := qr.Encode(code, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	n := q.Bounds().Dx()
	for y := range n {
		for x := range n {
			if r, _, _, _ := q.At(x, y).RGBA(); r == 0 {
				pdf.Rect(150+float64(x), 45+float64(y), 1, 1, "F")
			}
		}
	}
	pdf.SetFont("go", "", 11)
	for i, line := range []string{"Ce bon donne droit à : 1 appareil et 2 recharges.", "Valable jusqu'au 31/01/2027 inclus.",
		"Délivré par : CCAS banc d'essai", "1. Venez dans un des espaces avec ce bon.", "2. L'équipe lit le code.", "3. Vous payez le prix solidaire."} {
		pdf.Text(15, 95+float64(i)*7, line)
	}
	var buf bytes.Buffer
	err = pdf.Output(&buf)
	return buf.Bytes(), err
}
