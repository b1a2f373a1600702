package httpx

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/tremplin/tremplin/internal/apperr"
)

// FileRoutes are the routes that take uploaded files (multipart forms). Any
// other route refuses a multipart body before reading a byte of it, so that
// a request (an unauthenticated one above all) never makes the server write
// a file.
type FileRoutes struct {
	mu     sync.RWMutex
	routes map[string]bool
}

// NewFileRoutes returns an empty set.
func NewFileRoutes() *FileRoutes { return &FileRoutes{routes: map[string]bool{}} }

// POST mounts a route that takes files on g.
func (f *FileRoutes) POST(g *gin.RouterGroup, relative string, handlers ...gin.HandlerFunc) {
	full := path.Join(g.BasePath(), relative)
	if strings.HasSuffix(relative, "/") && !strings.HasSuffix(full, "/") {
		full += "/"
	}
	f.mu.Lock()
	f.routes[http.MethodPost+" "+full] = true
	f.mu.Unlock()
	g.POST(relative, handlers...)
}

func (f *FileRoutes) has(method, route string) bool {
	if f == nil {
		return false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.routes[method+" "+route]
}

// IsMultipart tells whether a request's body is a multipart form.
func IsMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.HasPrefix(mt, "multipart/")
}

const uploadsKey = "tremplin.uploads"

// uploads refuses multipart bodies on the routes that take no file (415,
// before the body is read), and after every request releases whatever its
// form left: the spooled files read by ReadMultipart, and a form parsed by
// net/http on any copy of the request that reached a handler (the request
// id's context makes a copy, which net/http's own clean-up never sees).
func uploads(files *FileRoutes) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v, ok := c.Get(uploadsKey); ok {
				for _, u := range v.([]*Upload) {
					u.release()
				}
			}
			if f := c.Request.MultipartForm; f != nil {
				_ = f.RemoveAll()
			}
		}()
		if IsMultipart(c.Request) && !files.has(c.Request.Method, c.FullPath()) {
			// Close the connection after answering: the unread body is not
			// read only to be thrown away.
			c.Header("Connection", "close")
			Fail(c, fmt.Errorf("this address takes no file: send the form without one: %w", apperr.ErrUnsupportedMedia))
			return
		}
		c.Next()
	}
}

// Upload is one file of a multipart form, read whole before the handler
// runs. A small file stays in memory; a larger one is spooled to a file that
// is unlinked as soon as it is created (nothing of it outlives the process,
// even killed) and sealed with a key that exists only in memory for the
// request (an operator's file of PINs never touches the disk in clear).
type Upload struct {
	Filename string
	Size     int64

	mem    []byte
	file   *os.File
	key    []byte
	iv     []byte
	closed bool
}

// Open reads the file from its start; each call is a new reader.
func (u *Upload) Open() (io.Reader, error) {
	if u.closed {
		return nil, errors.New("upload already released")
	}
	if u.file == nil {
		return bytes.NewReader(u.mem), nil
	}
	stream, err := u.stream()
	if err != nil {
		return nil, err
	}
	return cipher.StreamReader{S: stream, R: io.NewSectionReader(u.file, 0, u.Size)}, nil
}

func (u *Upload) stream() (cipher.Stream, error) {
	block, err := aes.NewCipher(u.key)
	if err != nil {
		return nil, fmt.Errorf("upload cipher: %w", err)
	}
	return cipher.NewCTR(block, u.iv), nil
}

func (u *Upload) release() {
	if u.closed {
		return
	}
	u.closed = true
	u.mem = nil
	if u.file != nil {
		name := u.file.Name()
		_ = u.file.Close()
		_ = os.Remove(name) // already unlinked where the system allows it
	}
	clear(u.key)
}

// Limits of a multipart form read by ReadMultipart.
type FormLimits struct {
	// MaxBytes bounds the whole body.
	MaxBytes int64
	// InMemory is the largest file kept in memory; larger ones are spooled
	// sealed to Dir (the system's temporary folder when empty).
	InMemory int64
	Dir      string
}

// maxFieldBytes bounds the text fields of a form together.
const maxFieldBytes = 1 << 20

// ReadMultipart reads a multipart form as a stream: its text fields become
// the request's PostForm (so c.PostForm works as for any form), its files
// are kept for FormFile. It is for the routes mounted with FileRoutes.POST;
// whatever it read is released after the request, whatever the outcome.
func ReadMultipart(c *gin.Context, lim FormLimits) error {
	r := c.Request
	r.Body = http.MaxBytesReader(c.Writer, r.Body, lim.MaxBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return fmt.Errorf("multipart form: %w", apperr.ErrMalformed)
	}
	values := url.Values{}
	var fields int64
	files := map[string][]*Upload{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return formError(err)
		}
		name := part.FormName()
		if name == "" {
			_ = part.Close()
			continue
		}
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes-fields+1))
			if err != nil {
				return formError(err)
			}
			if fields += int64(len(b)); fields > maxFieldBytes {
				return fmt.Errorf("form fields of more than %d KB: %w", maxFieldBytes>>10, apperr.ErrTooLarge)
			}
			values.Add(name, string(b))
			continue
		}
		u, err := spool(c, part, lim)
		if err != nil {
			return err
		}
		files[name] = append(files[name], u)
	}
	r.PostForm = values
	r.Form = url.Values{}
	for k, v := range r.URL.Query() {
		r.Form[k] = append(r.Form[k], v...)
	}
	for k, v := range values {
		r.Form[k] = append(r.Form[k], v...)
	}
	// A form with values and no files: net/http and Gin take the form as
	// parsed and never read the body again.
	r.MultipartForm = &multipart.Form{Value: values}
	c.Set(filesKey, files)
	return nil
}

const filesKey = "tremplin.form_files"

// FormFile is the first file sent as name in a form read by ReadMultipart.
func FormFile(c *gin.Context, name string) (*Upload, bool) {
	v, ok := c.Get(filesKey)
	if !ok {
		return nil, false
	}
	fs := v.(map[string][]*Upload)[name]
	if len(fs) == 0 || fs[0].Filename == "" && fs[0].Size == 0 {
		return nil, false
	}
	return fs[0], true
}

// FormFiles are the files sent as name in a form read by ReadMultipart.
func FormFiles(c *gin.Context, name string) []*Upload {
	v, ok := c.Get(filesKey)
	if !ok {
		return nil
	}
	var out []*Upload
	for _, u := range v.(map[string][]*Upload)[name] {
		if u.Filename != "" || u.Size > 0 {
			out = append(out, u)
		}
	}
	return out
}

// spool reads one file part: in memory up to lim.InMemory, sealed on disk
// past it. It is registered for release before anything is written, so an
// aborted upload leaves nothing either.
func spool(c *gin.Context, part *multipart.Part, lim FormLimits) (*Upload, error) {
	u := &Upload{Filename: part.FileName()}
	list, _ := c.Get(uploadsKey)
	uploads, _ := list.([]*Upload)
	c.Set(uploadsKey, append(uploads, u))

	head, err := io.ReadAll(io.LimitReader(part, lim.InMemory+1))
	if err != nil {
		return nil, formError(err)
	}
	if int64(len(head)) <= lim.InMemory {
		u.mem, u.Size = head, int64(len(head))
		return u, nil
	}
	f, err := os.CreateTemp(lim.Dir, "tremplin-upload-*")
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	u.file = f
	// Unlinked at once: the open file is all that remains, gone with it.
	_ = os.Remove(f.Name())
	u.key, u.iv = make([]byte, 32), make([]byte, aes.BlockSize)
	_, _ = rand.Read(u.key)
	_, _ = rand.Read(u.iv)
	stream, err := u.stream()
	if err != nil {
		return nil, err
	}
	w := cipher.StreamWriter{S: stream, W: f}
	n, err := w.Write(head)
	if err == nil {
		var m int64
		m, err = io.Copy(w, part)
		n += int(m)
	}
	if err != nil {
		return nil, formError(err)
	}
	u.Size = int64(n)
	return u, nil
}

func formError(err error) error {
	if big, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return fmt.Errorf("a form of more than %d MB: %w", big.Limit>>20, apperr.ErrTooLarge)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("the upload was cut before its end; send it again: %w", apperr.ErrMalformed)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("spool upload: %w", err)
	}
	return fmt.Errorf("multipart form: %v: %w", err, apperr.ErrMalformed)
}
