package acme

import (
	"crypto/tls"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Domains: []string{"duet.example.org"}, CacheDir: "/var/lib/duet/acme"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no domains", func(c *Config) { c.Domains = nil }, "at least one domain"},
		{"empty domain", func(c *Config) { c.Domains = []string{"duet.example.org", " "} }, "domain"},
		{"single label", func(c *Config) { c.Domains = []string{"localhost"} }, "no dot"},
		{"ip address", func(c *Config) { c.Domains = []string{"192.0.2.1"} }, "IP address"},
		{"wildcard", func(c *Config) { c.Domains = []string{"*.example.org"} }, "wildcard"},
		{"port", func(c *Config) { c.Domains = []string{"duet.example.org:443"} }, "domain"},
		{"url", func(c *Config) { c.Domains = []string{"https://duet.example.org"} }, "domain"},
		{"underscore", func(c *Config) { c.Domains = []string{"du_et.example.org"} }, "domain"},
		{"empty label", func(c *Config) { c.Domains = []string{"duet..example.org"} }, "domain"},
		{"hyphen label", func(c *Config) { c.Domains = []string{"-duet.example.org"} }, "domain"},
		{"empty cache dir", func(c *Config) { c.CacheDir = "" }, "cache directory"},
		{"http directory", func(c *Config) { c.DirectoryURL = "http://ca.example/dir" }, "https://"},
		{"relative directory", func(c *Config) { c.DirectoryURL = "/dir" }, "https://"},
		{"https port", func(c *Config) { c.HTTPSPort = 70000 }, "port"},
		{"negative renew", func(c *Config) { c.RenewBefore = -time.Hour }, "renew"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tc.want)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted what Validate refuses")
			}
		})
	}
}

func TestNewNormalizesDomains(t *testing.T) {
	m, err := New(Config{Domains: []string{"Duet.Example.ORG.", "duet.example.org", "bücher.example"}, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"duet.example.org", "xn--bcher-kva.example"}; !slices.Equal(m.domains, want) {
		t.Errorf("domains = %q, want %q", m.domains, want)
	}
}

func TestNewMakesCacheDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "acme")
	if _, err := New(Config{Domains: []string{"duet.example.org"}, CacheDir: dir}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v %v", fi, err)
	}
	// A path under a regular file cannot be made: New says so instead of the first handshake.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Domains: []string{"duet.example.org"}, CacheDir: filepath.Join(file, "acme")}); err == nil {
		t.Fatal("New accepted a cache dir that cannot exist")
	}
}

func TestTLSConfig(t *testing.T) {
	// The directory is unreachable: nothing here may contact a CA.
	m, err := New(Config{Domains: []string{"duet.example.org"}, CacheDir: t.TempDir(), DirectoryURL: "https://127.0.0.1:1/dir"})
	if err != nil {
		t.Fatal(err)
	}
	a, b := m.TLSConfig(), m.TLSConfig()
	if a == b {
		t.Error("TLSConfig returns a shared config; each listener should get its own")
	}
	if a.MinVersion != tls.VersionTLS12 || a.GetCertificate == nil {
		t.Errorf("MinVersion %x, GetCertificate set %v", a.MinVersion, a.GetCertificate != nil)
	}
	if want := []string{"h2", "http/1.1", "acme-tls/1"}; !slices.Equal(a.NextProtos, want) {
		t.Errorf("NextProtos = %q, want %q", a.NextProtos, want)
	}
	// A name outside the policy is refused before any ACME traffic.
	_, err = a.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.org"})
	if err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("GetCertificate(evil.example.org) = %v, want a host policy refusal", err)
	}
}

func TestHTTPHandler(t *testing.T) {
	newM := func(httpsPort int) *Manager {
		m, err := New(Config{Domains: []string{"duet.example.org", "other.example.org"}, CacheDir: t.TempDir(), HTTPSPort: httpsPort})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	std, alt := newM(0), newM(8443)
	for _, tc := range []struct {
		name, method, host, target string
		m                          *Manager
		status                     int
		location                   string
	}{
		{"redirect keeps path and query", "GET", "duet.example.org", "/room.html?room=x", std, 308, "https://duet.example.org/room.html?room=x"},
		{"drops :80", "GET", "duet.example.org:80", "/room.html?room=x", std, 308, "https://duet.example.org/room.html?room=x"},
		{"second domain", "GET", "Other.Example.org", "/", std, 308, "https://other.example.org/"},
		{"escaped path", "GET", "duet.example.org", "/a%20b/c?q=1&r=%2F", std, 308, "https://duet.example.org/a%20b/c?q=1&r=%2F"},
		{"post keeps method via 308", "POST", "duet.example.org", "/api/x", std, 308, "https://duet.example.org/api/x"},
		{"foreign host goes to first domain", "GET", "203.0.113.9", "/room.html?room=x", std, 308, "https://duet.example.org/room.html?room=x"},
		{"forged host", "GET", "evil.example.com", "/", std, 308, "https://duet.example.org/"},
		{"https port", "GET", "duet.example.org:80", "/room.html?room=x", alt, 308, "https://duet.example.org:8443/room.html?room=x"},
		{"unknown token", "GET", "duet.example.org", "/.well-known/acme-challenge/nope", std, 404, ""},
		{"unknown token with port", "GET", "duet.example.org:80", "/.well-known/acme-challenge/nope", std, 404, ""},
		{"token for a foreign host", "GET", "evil.example.com", "/.well-known/acme-challenge/nope", std, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://"+tc.host+tc.target, nil)
			rec := httptest.NewRecorder()
			tc.m.HTTPHandler().ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (body %q)", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
		})
	}
}
