package testenv

import (
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// UI drives Tremplin's pages in headless Chromium as a person would: log in,
// scan (type a code and Enter), click what they see by its text, and check
// the page for accessibility, weight and a phone's width.
type UI struct {
	T    testing.TB
	Base string
	Ctx  context.Context
	// Step bounds each step (a page to load, a selector to show).
	Step time.Duration
}

// NewUI opens a browser on the server at base; each step has step to
// finish. extra adds Chromium options (FakeCamera's).
func NewUI(t testing.TB, base string, step time.Duration, extra ...chromedp.ExecAllocatorOption) *UI {
	t.Helper()
	return &UI{T: t, Base: base, Ctx: Browser(t, extra...), Step: step}
}

func (u *UI) step() (context.Context, context.CancelFunc) { return context.WithTimeout(u.Ctx, u.Step) }

// Do runs browser actions, failing the test on an error.
func (u *UI) Do(actions ...chromedp.Action[chromedp.Void]) {
	u.T.Helper()
	ctx, cancel := u.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		u.Shot("failure-" + sanitize(u.T.Name()))
		u.T.Fatalf("%v (page %s)", err, u.Location())
	}
}

// Location is the page's address.
func (u *UI) Location() string {
	ctx, cancel := u.step()
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// Login signs in with the login form and waits for the page it leads to.
func (u *UI) Login(email, password string) {
	u.T.Helper()
	u.Do(chromedp.Navigate(u.Base+"/login"), chromedp.WaitVisible("#login-form"),
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", password))
	u.navigating(func() { u.Do(chromedp.Submit("#login-form")) })
}

// Open goes to a page and waits for a selector.
func (u *UI) Open(path, wait string) {
	u.T.Helper()
	u.Do(chromedp.Navigate(u.Base+path), chromedp.WaitVisible(wait))
}

// Scan types a code and Enter into whatever holds the focus, as a USB
// scanner does, and waits for the page that answers to show wait.
func (u *UI) Scan(code, wait string) {
	u.T.Helper()
	u.navigating(func() { u.Do(chromedp.KeyEvent(code + "\r")) })
	u.Do(chromedp.WaitVisible(wait))
}

// navigating runs act, which leads to another page, and waits until that
// page has loaded (not the old one still showing).
func (u *UI) navigating(act func()) {
	u.T.Helper()
	u.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](`window.__tremplinOld = true`)(ctx, t)
		return err
	}))
	act()
	deadline := time.Now().Add(u.Step)
	for {
		ctx, cancel := u.step()
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__tremplinOld === undefined && document.readyState === "complete"`))
		cancel()
		if err == nil && loaded {
			return
		}
		if time.Now().After(deadline) {
			u.Shot("failure-" + sanitize(u.T.Name()))
			ctx, cancel := u.step()
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState + " old=" + window.__tremplinOld + " active=" + (document.activeElement && document.activeElement.id) + " value=" + (document.activeElement && document.activeElement.value)`))
			cancel()
			u.T.Fatalf("no new page after %s (page %s, %s)", u.Step, u.Location(), state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Choose gives files to the file field sel of a form that sends itself
// when they are chosen, and waits for the page it leads to.
func (u *UI) Choose(sel string, files ...string) {
	u.T.Helper()
	u.navigating(func() { u.Do(chromedp.SetUploadFiles(sel, files)) })
}

// Keys types into the focused element (no Enter).
func (u *UI) Keys(keys string) {
	u.T.Helper()
	u.Do(chromedp.KeyEvent(keys))
}

// Focused is the id of the element holding the focus.
func (u *UI) Focused() string {
	return get(u, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
}

// ByText is an XPath to the visible button, link or panel title whose text
// contains text (a person finds them so).
func ByText(text string) string {
	q := "'" + text + "'"
	if strings.Contains(text, "'") {
		q = `"` + text + `"`
	}
	return fmt.Sprintf(`//*[self::button or self::a or self::summary][contains(normalize-space(.), %s)]`, q)
}

// ClickText clicks the button or link a person would by its visible text,
// and waits for the page it leads to.
func (u *UI) ClickText(text string) {
	u.T.Helper()
	u.navigating(func() { u.Do(chromedp.Click(ByText(text), chromedp.NodeVisible)) })
}

// Follow clicks the element sel (a link among several of the same text)
// and waits for the page it leads to.
func (u *UI) Follow(sel string) {
	u.T.Helper()
	u.navigating(func() { u.Do(chromedp.Click(sel, chromedp.NodeVisible)) })
}

// Text is the visible text of an element.
func (u *UI) Text(sel string) string {
	u.T.Helper()
	return strings.TrimSpace(get(u, chromedp.Text(sel, chromedp.NodeVisible)))
}

// Has tells whether a selector is on the page now.
func (u *UI) Has(sel string) bool {
	ctx, cancel := u.step()
	defer cancel()
	n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	return n > 0
}

// Shot saves a screenshot as DIR/name.png when TREMPLIN_SCREENSHOTS=DIR.
func (u *UI) Shot(name string) {
	dir := os.Getenv("TREMPLIN_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := u.step()
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// get runs an action that reads a value, failing the test on an error.
func get[T any](u *UI, a chromedp.Action[T]) T {
	u.T.Helper()
	ctx, cancel := u.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		u.Shot("failure-" + sanitize(u.T.Name()))
		u.T.Fatalf("%v (page %s)", err, u.Location())
	}
	return v
}

// Value is a field's current value.
func (u *UI) Value(sel string) string {
	u.T.Helper()
	return get(u, chromedp.Value(sel))
}

// Eval evaluates a script expression for an int.
func (u *UI) Eval(expr string) int {
	u.T.Helper()
	return get(u, chromedp.Evaluate[int](expr))
}

func sanitize(s string) string { return regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(s, "-") }

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// Violation is one rule axe-core found broken on a page.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// Axe injects the vendored axe-core into the page and returns the serious
// and critical violations (WCAG 2.1 A and AA rules).
func (u *UI) Axe() []Violation {
	u.T.Helper()
	script := axeSource + `;
(async () => {
  const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return JSON.stringify({violations: r.violations, passes: r.passes.length});
})()`
	raw := get(u, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
	var res struct {
		Violations []Violation `json:"violations"`
		Passes     int         `json:"passes"`
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		u.T.Fatalf("axe result: %v", err)
	}
	if res.Passes == 0 {
		u.T.Fatal("axe-core checked nothing on this page")
	}
	u.T.Logf("axe-core: %d rules passed, %d broken (any impact) on %s", res.Passes, len(res.Violations), u.Location())
	var bad []Violation
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v)
		}
	}
	return bad
}

// Narrow reloads the page 390 px wide (a phone) and returns how far it
// scrolls sideways (0 when it fits).
func (u *UI) Narrow() int {
	u.T.Helper()
	u.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Reload(), chromedp.WaitReady("body"))
	return get(u, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
}

// NarrowHere makes the page 390 px wide without reloading it (a page that
// answered a form) and returns how far it scrolls sideways.
func (u *UI) NarrowHere() int {
	u.T.Helper()
	u.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	return get(u, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
}

// WideHere goes back to a desktop's width without reloading.
func (u *UI) WideHere() {
	u.T.Helper()
	u.Do(chromedp.EmulateViewport(1280, 900))
}

// EvalString evaluates a script expression for a string.
func (u *UI) EvalString(expr string) string {
	u.T.Helper()
	return get(u, chromedp.Evaluate[string](expr))
}

// Wide goes back to a desktop's width.
func (u *UI) Wide() {
	u.T.Helper()
	u.Do(chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitReady("body"))
}

// Cookie is the browser's value of a cookie, for HTTP checks made beside it.
func (u *UI) Cookie(name string) *http.Cookie {
	u.T.Helper()
	var out *http.Cookie
	u.Do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			return err
		}
		for _, c := range res.Cookies {
			if c.Name == name {
				out = &http.Cookie{Name: c.Name, Value: c.Value}
			}
		}
		return nil
	}))
	return out
}

var assetRef = regexp.MustCompile(`(?:href|src)="(/static/[^"]+)"`)

// PageWeight fetches a page and the scripts, styles and images it links,
// compressed as a browser asks for them, and returns the bytes on the wire
// with each part's share.
func PageWeight(t testing.TB, base, path string, cookie *http.Cookie) (int64, map[string]int64) {
	t.Helper()
	parts := map[string]int64{}
	fetch := func(p string) string {
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		// Our own transport: Go's would undo the compression silently.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		defer resp.Body.Close()
		wire, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", p, resp.StatusCode)
		}
		parts[p] = int64(len(wire))
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(strings.NewReader(string(wire)))
			if err != nil {
				t.Fatalf("GET %s: gzip: %v", p, err)
			}
			plain, _ := io.ReadAll(zr)
			return string(plain)
		}
		return string(wire)
	}
	html := fetch(path)
	for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
		ref := strings.ReplaceAll(m[1], "&amp;", "&")
		if _, seen := parts[ref]; !seen {
			fetch(ref)
		}
	}
	var total int64
	for _, n := range parts {
		total += n
	}
	return total, parts
}
