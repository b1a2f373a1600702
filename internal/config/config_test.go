package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, err := Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "data" || c.Addr != "127.0.0.1:8080" || c.TokenTTL != 12*time.Hour || c.LoginMaxPerUser != 5 {
		t.Fatalf("defaults %+v", c)
	}
}

func TestEveryBadValueIsReported(t *testing.T) {
	env := map[string]string{"TREMPLIN_TOKEN_TTL": "soon", "TREMPLIN_LOGIN_MAX_FAILURES": "-2", "TREMPLIN_LOG_FORMAT": "xml", "TREMPLIN_DATA_DIR": ""}
	_, err := Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for k := range env {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
}

// TestREADMEListsEveryOption keeps the README's configuration table true.
func TestREADMEListsEveryOption(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Options {
		def := "—"
		if o.Default != "" {
			def = "`" + o.Default + "`"
		}
		row := "| `" + o.Env + "` | " + def + " | " + o.Description + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row:\n%s", row)
		}
	}
}
