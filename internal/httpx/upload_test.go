package httpx_test

import (
	"bytes"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/httpx"
)

// TestSpooledUploadIsSealedAndUnlinked: a file past the in-memory size is
// spooled to a file that no folder lists while the handler runs, whose
// bytes are not the upload's, and that reads back whole through Upload.
func TestSpooledUploadIsSealedAndUnlinked(t *testing.T) {
	dir := t.TempDir()
	files := httpx.NewFileRoutes()
	e, err := httpx.NewEngine(httpx.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Files: files})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("SERIAL-1,4111222233334444,2030-01-31\n", 100000) // 3.7 MB of PINs
	var spooled []string
	files.POST(e.Group("/"), "/up", func(c *gin.Context) {
		if err := httpx.ReadMultipart(c, httpx.FormLimits{MaxBytes: 8 << 20, InMemory: 1 << 20, Dir: dir}); err != nil {
			httpx.Fail(c, err)
			return
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("the spool folder lists %d files while the upload is read", len(left))
		}
		// The open file is found through the process's descriptors.
		fds, _ := filepath.Glob("/proc/self/fd/*")
		for _, fd := range fds {
			if target, _ := os.Readlink(fd); strings.HasPrefix(target, filepath.Join(dir, "tremplin-upload-")) {
				spooled = append(spooled, target)
				raw, err := os.ReadFile(fd)
				if err != nil {
					t.Fatal(err)
				}
				if len(raw) != len(secret) || bytes.Contains(raw, []byte("4111222233334444")) {
					t.Errorf("the spooled file holds %d bytes, the PINs in clear: %v", len(raw), bytes.Contains(raw, []byte("4111222233334444")))
				}
			}
		}
		u, ok := httpx.FormFile(c, "file")
		if !ok {
			t.Fatal("no file")
		}
		r, err := u.Open()
		if err != nil {
			t.Fatal(err)
		}
		back, _ := io.ReadAll(r)
		if string(back) != secret || c.PostForm("site_id") != "7" {
			t.Errorf("read back %d bytes of %d, site %q", len(back), len(secret), c.PostForm("site_id"))
		}
		c.String(http.StatusOK, "ok")
	})
	e.POST("/nofile", func(c *gin.Context) { c.String(http.StatusOK, c.PostForm("a")) })
	srv := httpTestServer(t, e)

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "cartes.csv")
	_, _ = fw.Write([]byte(secret))
	_ = w.WriteField("site_id", "7")
	_ = w.Close()
	resp, err := http.Post(srv+"/up", w.FormDataContentType(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(spooled) != 1 {
		t.Fatalf("status %d, spooled files seen: %v", resp.StatusCode, spooled)
	}
	// A route that takes no file refuses a multipart body (415) and an
	// ordinary form still passes.
	resp, err = http.Post(srv+"/nofile", w.FormDataContentType(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("multipart to a route without files: %d", resp.StatusCode)
	}
	resp, err = http.Post(srv+"/nofile", "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "b" {
		t.Fatalf("plain form: %d %q", resp.StatusCode, body)
	}
}

func httpTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
