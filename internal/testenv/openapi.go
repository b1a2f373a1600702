package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/tremplin/tremplin/internal/apispec"
)

// Every exchange a test makes with the API is checked against
// /api/openapi.json: a field renamed in code and not in the document (or the
// other way round) fails the test that saw it.

var (
	specOnce sync.Once
	spec     validator.Validator
	specErr  error
)

func openAPI() (validator.Validator, error) {
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(apispec.JSON)
		if err != nil {
			specErr = fmt.Errorf("openapi.json: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = fmt.Errorf("openapi.json: %v", errs)
			return
		}
		spec = v
	})
	return spec, specErr
}

// checkExchange returns what in one exchange disagrees with the document:
// the answer always (its status, content type and body), the request when
// the server took it (a 2xx to a request the document calls invalid means
// one of them is wrong; a refused one may be bad on purpose).
func checkExchange(method, url string, reqHeader http.Header, reqBody []byte, resp *Response) []string {
	if !strings.Contains(url, "/api/v1/") {
		return nil
	}
	v, err := openAPI()
	if err != nil {
		return []string{err.Error()}
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(reqBody))
	if err != nil {
		return nil
	}
	// GET /scan/{code} takes a code with slashes (an IMEI typed
	// 35-209900-176148/1): the document's {code} is the rest of the path.
	if rest, ok := strings.CutPrefix(req.URL.Path, "/api/v1/scan/"); ok && strings.Contains(rest, "/") {
		req.URL.RawPath = "/api/v1/scan/" + strings.ReplaceAll(rest, "/", "%2F")
	}
	req.Header = reqHeader.Clone()
	hr := &http.Response{StatusCode: resp.Status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(resp.Body)), Request: req}
	var problems []string
	add := func(what string, errs []*verrors.ValidationError) {
		for _, e := range errs {
			// An unknown route or method is the test's point when the answer is 404/405.
			if (resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed) &&
				(e.ValidationType == "path" || e.ValidationSubType == "missingOperation") {
				continue
			}
			msg := fmt.Sprintf("openapi.json disagrees with the %s of %s %s → %d: %s", what, method, req.URL.Path, resp.Status, e.Message)
			if e.Reason != "" {
				msg += " (" + e.Reason + ")"
			}
			for _, s := range e.SchemaValidationErrors {
				msg += "; " + s.FieldPath + ": " + s.Reason
			}
			problems = append(problems, msg)
		}
	}
	if _, errs := v.ValidateHttpResponse(req, hr); len(errs) > 0 {
		add("answer", errs)
	}
	if resp.Status >= 200 && resp.Status < 300 {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if _, errs := v.ValidateHttpRequestSync(req); len(errs) > 0 {
			add("request", errs)
		}
	}
	return problems
}
