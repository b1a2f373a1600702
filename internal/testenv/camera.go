package testenv

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/image/draw"
)

// FakeCamera writes img as a Y4M video (a text header and raw YUV 4:2:0
// frames) the size of a webcam's picture, centred on white, and returns the
// Chromium options that make it the camera, with its permission granted.
func FakeCamera(t testing.TB, img image.Image) []chromedp.ExecAllocatorOption {
	t.Helper()
	const w, h = 640, 480
	canvas := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	b := img.Bounds()
	scale := min(float64(w-40)/float64(b.Dx()), float64(h-40)/float64(b.Dy()), 1)
	dw, dh := int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)
	dst := image.Rect((w-dw)/2, (h-dh)/2, (w-dw)/2+dw, (h-dh)/2+dh)
	draw.CatmullRom.Scale(canvas, dst, img, b, draw.Over, nil)

	path := filepath.Join(t.TempDir(), "camera.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(f)
	fmt.Fprintf(out, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", w, h)
	yPlane := make([]byte, w*h)
	uPlane := make([]byte, w*h/4)
	vPlane := make([]byte, w*h/4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, bl, _ := canvas.At(x, y).RGBA()
			yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			yPlane[y*w+x] = yy
			if x%2 == 0 && y%2 == 0 {
				uPlane[(y/2)*(w/2)+x/2] = cb
				vPlane[(y/2)*(w/2)+x/2] = cr
			}
		}
	}
	for range 10 {
		out.WriteString("FRAME\n")
		out.Write(yPlane)
		out.Write(uPlane)
		out.Write(vPlane)
	}
	if err := out.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", path),
	}
}

// ReadPNG decodes a PNG file.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
