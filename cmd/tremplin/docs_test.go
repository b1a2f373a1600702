package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tremplin/tremplin/internal/testenv"
)

var fence = regexp.MustCompile("(?s)```([a-z]*)\n(.*?)```")

// blocks are a doc's fenced blocks of one language, in order.
func blocks(t *testing.T, doc, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", doc))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range fence.FindAllStringSubmatch(string(b), -1) {
		if m[1] == lang {
			out = append(out, m[2])
		}
	}
	return out
}

// block is the one block of a language that starts with first.
func block(t *testing.T, doc, lang, first string) string {
	t.Helper()
	for _, b := range blocks(t, doc, lang) {
		if strings.HasPrefix(b, first) {
			return b
		}
	}
	t.Fatalf("%s has no %s block starting %q", doc, lang, first)
	return ""
}

// TestLaptopDoc follows docs/deploy-laptop.md: a space's laptop with sales,
// a backup onto the "USB disk", the key onto the other, the data folder
// lost, the restore: every sale is back and the PINs' key with it.
func TestLaptopDoc(t *testing.T) {
	// The laptop runs the embedded SQLite whatever the suite's engine.
	work := t.TempDir()
	env := map[string]string{"TREMPLIN_DATA_DIR": filepath.Join(work, "data"), "TREMPLIN_ARGON2_MEMORY_KIB": "64", "TREMPLIN_LOG_LEVEL": "warn"}
	codes := seedSales(t, env, 5)
	srv := startServe(t, env) // generates data/secret.key, as on the laptop's first start
	token := login(t, srv.URL, "caisse@example.org", "0123456789")
	for i := range 5 {
		if st, _ := sellOne(srv.URL, token, codes[i], i); st != 201 {
			t.Fatalf("sale %d: %d", i, st)
		}
	}
	srv.Stop(t)
	key, err := os.ReadFile(filepath.Join(work, "data", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}

	usb, cle := t.TempDir(), t.TempDir()
	script := "set -eu\n" + strings.Join(blocks(t, "deploy-laptop.md", "sh"), "\n")
	script = strings.Replace(script, "USB=/media/$USER/TREMPLIN", "USB="+usb, 1)
	script = strings.Replace(script, "KEY=/media/$USER/CLE", "KEY="+cle, 1)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = work
	cmd.Env = append(slicesWithout(os.Environ(), "TREMPLIN_DATA_DIR", "TREMPLIN_DATABASE_URL", "TREMPLIN_SECRET_KEY"),
		"PATH="+filepath.Dir(binary(t))+":"+os.Getenv("PATH"), "TREMPLIN_ARGON2_MEMORY_KIB=64")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "All invariants hold") {
		t.Fatalf("the laptop doc's commands: %v\n%s", err, out)
	}
	restored := testenv.Open(t, filepath.Join(work, "data", "tremplin.db"), "")
	var sales int64
	restored.Raw(`SELECT COUNT(*) FROM sales`).Scan(&sales)
	if sales != 5 {
		t.Fatalf("%d sales restored, 5 made", sales)
	}
	if again, _ := os.ReadFile(filepath.Join(work, "data", "secret.key")); string(again) != string(key) {
		t.Fatal("the key put back is not the laptop's")
	}
}

// slicesWithout drops the variables named from an environment.
func slicesWithout(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestServerDeploymentDoc follows docs/deploy-server.md: Tremplin started
// as its systemd unit starts it, with its settings file, behind Caddy with
// the doc's Caddyfile: the login page answers over HTTPS and the session
// cookie is Secure; the doc's backup and restore commands work.
func TestServerDeploymentDoc(t *testing.T) {
	// The server runs PostgreSQL whatever the suite's engine
	// (FreshPostgres fails in CI, and says why on a laptop without it).
	caddy, err := exec.LookPath("caddy")
	if err != nil {
		testenv.Missing(t, "no caddy: apt-get install caddy")
	}
	pg := testenv.FreshPostgres(t)
	tremplinAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	httpsPort := freePort(t)
	backups := t.TempDir()

	// The settings file, with this machine's values.
	settings := map[string]string{}
	for _, line := range strings.Split(block(t, "deploy-server.md", "ini", "# /etc/tremplin/tremplin.env"), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			settings[k] = v
		}
	}
	for k, v := range map[string]string{"TREMPLIN_DATABASE_URL": pg, "TREMPLIN_SECRET_KEY": testKey, "TREMPLIN_ADDR": tremplinAddr,
		"TREMPLIN_PUBLIC_URL": fmt.Sprintf("https://localhost:%d", httpsPort), "TREMPLIN_BACKUP_DIR": backups} {
		if _, ok := settings[k]; !ok {
			t.Fatalf("the doc's settings lack %s", k)
		}
		settings[k] = v
	}
	if settings["TREMPLIN_TRUSTED_PROXIES"] != "127.0.0.1" {
		t.Fatalf("the doc's settings trust %q", settings["TREMPLIN_TRUSTED_PROXIES"])
	}
	settings["TREMPLIN_DATA_DIR"] = t.TempDir()
	settings["TREMPLIN_ARGON2_MEMORY_KIB"] = "64"
	if code, out, errOut := runCmd(t, settings, "migrate", "up"); code != 0 {
		t.Fatalf("migrate: %s%s", out, errOut)
	}
	if code, out, errOut := runCmd(t, settings, "admin", "create", "--email", "admin@reseau.example.org", "--password", "0123456789"); code != 0 {
		t.Fatalf("admin: %s%s", out, errOut)
	}

	// The unit's command, as systemd runs it.
	unit := block(t, "deploy-server.md", "ini", "# /etc/systemd/system/tremplin.service")
	exe := regexp.MustCompile(`(?m)^ExecStart=(\S+) (.*)$`).FindStringSubmatch(unit)
	if exe == nil || exe[1] != "/usr/local/bin/tremplin" || !strings.Contains(unit, "EnvironmentFile=/etc/tremplin/tremplin.env") {
		t.Fatalf("the unit:\n%s", unit)
	}
	cmd := exec.Command(binary(t), strings.Fields(exe[2])...)
	cmd.Env = environ(settings)
	direct := startCmd(t, cmd)
	if direct != "http://"+tremplinAddr {
		t.Fatalf("the unit's tremplin listens on %s, the settings say %s", direct, tremplinAddr)
	}

	// Caddy with the doc's Caddyfile, for this machine's name and ports.
	caddyfile := block(t, "deploy-server.md", "caddyfile", "# /etc/caddy/Caddyfile")
	caddyfile = strings.Replace(caddyfile, "tremplin.example.org", fmt.Sprintf("localhost:%d", httpsPort), 1)
	caddyfile = strings.Replace(caddyfile, "127.0.0.1:8080", tremplinAddr, 1)
	home := t.TempDir()
	caddyfile = fmt.Sprintf("{\n\tadmin off\n\tskip_install_trust\n\tauto_https disable_redirects\n\tstorage file_system %s\n}\n", home) + caddyfile
	conf := filepath.Join(home, "Caddyfile")
	os.WriteFile(conf, []byte(caddyfile), 0o600)
	proxy := exec.Command(caddy, "run", "--config", conf, "--adapter", "caddyfile")
	proxy.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	var caddyOut testenv.LockedBuffer
	proxy.Stdout, proxy.Stderr = &caddyOut, &caddyOut
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Process.Kill(); _ = proxy.Wait() })
	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // Caddy's own CA for localhost
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := fmt.Sprintf("https://localhost:%d", httpsPort)
	var resp *http.Response
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err = client.Get(base + "/login")
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the login page through Caddy: %v %v\n%s", err, resp, caddyOut.String())
	}
	resp.Body.Close()
	resp, err = client.PostForm(base+"/login", url.Values{"email": {"admin@reseau.example.org"}, "password": {"0123456789"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logging in through Caddy: %v %v", err, resp)
	}
	resp.Body.Close()
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == "tremplin_session" {
			secure = c.Secure
		}
	}
	if !secure {
		t.Fatalf("behind Caddy the session cookie is not Secure: %v", resp.Header["Set-Cookie"])
	}

	// The backup by hand, then the doc's restore into a new database.
	if code, out, errOut := runCmd(t, settings, "backup"); code != 0 || !strings.Contains(out, backups) {
		t.Fatalf("backup: %d %s%s", code, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(backups, "tremplin-*.dump"))
	restoreLine := ""
	for _, b := range blocks(t, "deploy-server.md", "sh") {
		if strings.HasPrefix(b, "tremplin restore ") {
			restoreLine = strings.TrimSpace(b)
		}
	}
	args := strings.Fields(restoreLine)
	if len(files) != 1 || len(args) != 5 || args[3] != "--database" {
		t.Fatalf("backups %v; the doc's restore %q", files, restoreLine)
	}
	args[2], args[4] = files[0], testenv.FreshPostgres(t)
	if code, out, errOut := runCmd(t, settings, args[1:]...); code != 0 || !strings.Contains(out, "All invariants hold") {
		t.Fatalf("%v: %d %s%s", args, code, out, errOut)
	}
}
