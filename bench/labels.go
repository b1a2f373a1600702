package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/boombuler/barcode/code128"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomonobold"
	"golang.org/x/image/font/gofont/goregular"
)

const labelCount = 1000

// labels asks the API for 1,000 a4-3x8 labels, several times, beside a plain
// fpdf + boombuler loop drawing the same 1,000 labels (same fonts, same
// content) in this process.
func labels(ctx context.Context, e *env) (Result, error) {
	if err := e.seedDevices(ctx, scanDevices); err != nil {
		return Result{}, err
	}
	ids := make([]int64, labelCount)
	var first int64
	if err := sqlQueryRow(e, `SELECT MIN(id) FROM devices`, &first); err != nil {
		return Result{}, err
	}
	for i := range ids {
		ids[i] = first + int64(i)
	}
	body, _ := json.Marshal(map[string]any{"device_ids": ids, "layout": "a4-3x8"})
	runs := 6
	if e.quick {
		runs = 3
	}
	call := func() error {
		req, _ := http.NewRequestWithContext(ctx, "POST", e.baseURL+"/api/v1/labels", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 || n < 1000 {
			return fmt.Errorf("labels: status %d, %d bytes", resp.StatusCode, n)
		}
		return nil
	}
	if err := call(); err != nil { // warm-up
		return Result{}, err
	}
	start := time.Now()
	for range runs {
		if err := call(); err != nil {
			return Result{}, err
		}
	}
	project := float64(labelCount*runs) / time.Since(start).Seconds()

	if _, err := plainLabels(labelCount); err != nil {
		return Result{}, err
	}
	start = time.Now()
	for range runs {
		if _, err := plainLabels(labelCount); err != nil {
			return Result{}, err
		}
	}
	reference := float64(labelCount*runs) / time.Since(start).Seconds()
	return Result{Value: f64(project), Unit: "labels/s", Reference: "plain fpdf+boombuler loop", ReferenceValue: f64(reference),
		Note: fmt.Sprintf("%d labels a4-3x8 per request, %d requests", labelCount, runs)}, nil
}

// plainLabels is the reference: the same labels drawn with fpdf and
// boombuler directly, bars as rectangles, no layout code of ours.
func plainLabels(n int) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.AddUTF8FontFromBytes("gomono", "B", gomonobold.TTF)
	for i := range n {
		pos := i % 24
		if pos == 0 {
			pdf.AddPage()
		}
		x, y := float64(pos%3)*70+2, 0.5+float64(pos/3)*37+2
		tag := fmt.Sprintf("BEN-%06d", i+1)
		pdf.SetFont("gomono", "B", 15)
		pdf.Text(x+1, y+5, tag)
		bc, err := code128.Encode(tag)
		if err != nil {
			return nil, err
		}
		w := bc.Bounds().Dx()
		mw := 0.254
		for m := range w {
			if r, _, _, _ := bc.At(m, 0).RGBA(); r == 0 {
				pdf.Rect(x+10*mw+float64(m)*mw, y+7, mw, 14, "F")
			}
		}
		pdf.SetFont("go", "", 12)
		pdf.Text(x+1, y+26, fmt.Sprintf("Lenovo ThinkPad T%d", 400+i%100))
		pdf.SetFont("go", "B", 12)
		pdf.Text(x+1, y+33, "Grade B · 90,00 €")
	}
	var buf bytes.Buffer
	err := pdf.Output(&buf)
	return buf.Bytes(), err
}

func sqlQueryRow(e *env, q string, dest any) error {
	db, err := openBenchDB(e)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRow(q).Scan(dest)
}
