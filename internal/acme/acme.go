// Package acme gets and renews duet's TLS certificates from Let's Encrypt (or any ACME CA) with
// golang.org/x/crypto/acme/autocert, answering tls-alpn-01 on the HTTPS listener and http-01 on
// the plain-HTTP one.
package acme

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	xacme "golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
)

// Config says which names to get certificates for, where to keep them and which CA to ask.
type Config struct {
	Domains      []string      // names to get certificates for; the host policy allows exactly these
	CacheDir     string        // where certificates and the account key are kept, e.g. /var/lib/duet/acme
	DirectoryURL string        // ACME directory; "" = Let's Encrypt production
	Email        string        // optional contact for expiry and incident mail from the CA
	HTTPClient   *http.Client  // optional: e.g. to trust a test ACME server's CA
	HTTPSPort    int           // public HTTPS port the :80 redirect points to; 0 or 443 = default port
	RenewBefore  time.Duration // renew this long before expiry; 0 = autocert's default (1/3 of lifetime, at most 30 days)
	Logger       *slog.Logger
}

// Validate checks the settings without touching the disk or the network.
func (c Config) Validate() error {
	if len(c.Domains) == 0 {
		return errors.New("acme: at least one domain is needed")
	}
	for _, d := range c.Domains {
		if _, err := normalizeDomain(d); err != nil {
			return err
		}
	}
	if strings.TrimSpace(c.CacheDir) == "" {
		return errors.New("acme: cache directory is empty")
	}
	if c.DirectoryURL != "" {
		u, err := url.Parse(c.DirectoryURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("acme: directory URL %q is not an https:// URL", c.DirectoryURL)
		}
	}
	if c.HTTPSPort < 0 || c.HTTPSPort > 65535 {
		return fmt.Errorf("acme: HTTPS port %d out of range", c.HTTPSPort)
	}
	if c.RenewBefore < 0 {
		return fmt.Errorf("acme: negative renew-before %s", c.RenewBefore)
	}
	return nil
}

// normalizeDomain returns d in the lower-case ASCII form autocert compares SNI names in, or why
// no public CA would issue for it.
func normalizeDomain(d string) (string, error) {
	if strings.Contains(d, "*") {
		return "", fmt.Errorf("acme: %q: wildcards need dns-01, which autocert does not do", d)
	}
	name, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(d), "."))
	switch {
	case err != nil:
		return "", fmt.Errorf("acme: domain %q: %v", d, err)
	case name == "":
		return "", errors.New("acme: empty domain")
	case net.ParseIP(name) != nil:
		return "", fmt.Errorf("acme: %q is an IP address; ACME here issues for DNS names only", d)
	case !strings.Contains(name, "."):
		// autocert refuses single-label SNI names, so such a certificate could never be served.
		return "", fmt.Errorf("acme: domain %q has no dot", d)
	case len(name) > 253:
		return "", fmt.Errorf("acme: domain %q is too long", d)
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("acme: domain %q has a bad label %q", d, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return "", fmt.Errorf("acme: domain %q has a bad character %q", d, r)
			}
		}
	}
	return name, nil
}

// Manager serves certificates for the configured domains, getting and renewing them as needed.
type Manager struct {
	ac        *autocert.Manager
	domains   []string // normalized, in the order given; domains[0] is the fallback name
	httpsPort int
	log       *slog.Logger
}

// New checks c and makes the cache directory, so a bad path fails at start-up rather than at
// the first handshake. Nothing is fetched until a client asks for a certificate.
func New(c Config) (*Manager, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var domains []string
	for _, d := range c.Domains {
		name, _ := normalizeDomain(d) // already validated
		if !slices.Contains(domains, name) {
			domains = append(domains, name)
		}
	}
	// DirCache would make the directory lazily; making it now reports permission problems early.
	if err := os.MkdirAll(c.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("acme: cache directory: %w", err)
	}
	dir := c.DirectoryURL
	if dir == "" {
		dir = autocert.DefaultACMEDirectory
	}
	m := &Manager{domains: domains, httpsPort: c.HTTPSPort, log: log}
	m.ac = &autocert.Manager{
		Prompt:      autocert.AcceptTOS,
		HostPolicy:  autocert.HostWhitelist(domains...),
		Cache:       loggingCache{Cache: autocert.DirCache(c.CacheDir), domains: domains, log: log},
		RenewBefore: c.RenewBefore,
		Email:       c.Email,
		Client:      &xacme.Client{DirectoryURL: dir, HTTPClient: c.HTTPClient},
	}
	log.Info("acme certificates enabled", "domains", domains, "directory", dir, "cache", c.CacheDir)
	return m, nil
}

// TLSConfig returns a fresh config for one listener (duet's HTTPS server and its TURN-over-TLS
// listener each take their own). acme-tls/1 lets the CA validate over this listener (tls-alpn-01).
func (m *Manager) TLSConfig() *tls.Config {
	cfg := m.ac.TLSConfig()
	cfg.GetCertificate = m.getCertificate
	cfg.MinVersion = tls.VersionTLS12
	return cfg
}

// getCertificate is autocert's, with a default name for clients that send no SNI and a log line
// when a certificate for one of our names cannot be had.
func (m *Manager) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		// Clients that connect by IP address send no SNI; the first domain's certificate beats a
		// failed handshake.
		h := *hello
		h.ServerName = m.domains[0]
		hello = &h
	}
	cert, err := m.ac.GetCertificate(hello)
	if err != nil {
		name, _ := idna.Lookup.ToASCII(strings.TrimSuffix(hello.ServerName, "."))
		if slices.Contains(m.domains, name) {
			m.log.Warn("acme certificate unavailable", "name", name, "err", err)
		} else {
			// Scanners ask for all sorts of names; refusing them is routine.
			m.log.Debug("tls handshake for a name not configured", "name", hello.ServerName, "err", err)
		}
	}
	return cert, err
}
