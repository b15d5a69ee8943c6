package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"duet/internal/duettest"
)

// patience bounds every wait on issuance; it is a deadlock guard, never a timing assertion.
const patience = 60 * time.Second

// newTestManager makes a Manager for testDomain against p, logging into a buffer shown on failure.
func newTestManager(t *testing.T, p *pebble, cacheDir string, renewBefore time.Duration) *Manager {
	t.Helper()
	logs := &duettest.LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager log:\n%s", logs.String())
		}
	})
	m, err := New(Config{
		Domains:      []string{testDomain},
		CacheDir:     cacheDir,
		DirectoryURL: p.dirURL,
		HTTPClient:   p.client,
		RenewBefore:  renewBefore,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// serveTLS serves a tiny HTTPS handler on ln with the manager's TLS config, as duet's server does.
func serveTLS(t *testing.T, ln net.Listener, m *Manager) {
	t.Helper()
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }),
		TLSConfig: m.TLSConfig(),
		ErrorLog:  discardLogger(), // failed handshakes are the tests' business
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
}

// handshake connects to ln as a browser would for testDomain, verifying the chain against roots,
// and returns the leaf it was served.
func handshake(ln net.Listener, roots ...*x509.Certificate) (*x509.Certificate, error) {
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{ServerName: testDomain, RootCAs: pool, NextProtos: []string{"http/1.1"}}}
	conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// cachedLeaf reads the certificate autocert stored for testDomain (PEM key, then the chain).
func cachedLeaf(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, testDomain))
	if err != nil {
		t.Fatalf("certificate not in cache: %v", err)
	}
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "CERTIFICATE" {
			leaf, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return leaf
		}
	}
	t.Fatalf("no certificate in cached %s", testDomain)
	return nil
}

// TestIssuance gets a certificate over tls-alpn-01 on the HTTPS listener itself, as on port 443.
func TestIssuance(t *testing.T) {
	tlsLn := listen(t)
	p := startPebble(t, pebbleOpts{tlsPort: port(tlsLn)})
	dir := filepath.Join(t.TempDir(), "acme") // New makes it
	m := newTestManager(t, p, dir, 0)
	serveTLS(t, tlsLn, m)

	leaf, err := handshake(tlsLn, p.root) // verifies leaf ← pebble intermediate ← pebble root
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if err := leaf.VerifyHostname(testDomain); err != nil {
		t.Fatal(err)
	}
	if got := cachedLeaf(t, dir); got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("cached serial %x, served %x", got.SerialNumber, leaf.SerialNumber)
	}
	if _, err := os.Stat(filepath.Join(dir, "acme_account+key")); err != nil {
		t.Errorf("account key not in cache: %v", err)
	}

	// A second handshake is served from memory: same certificate.
	again, err := handshake(tlsLn, p.root)
	if err != nil {
		t.Fatal(err)
	}
	if again.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("second handshake got serial %x, want %x", again.SerialNumber, leaf.SerialNumber)
	}

	// A client that dials the IP address sends no SNI and still gets the domain's certificate.
	conn, err := tls.Dial("tcp", tlsLn.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // by IP: no SNI
	if err != nil {
		t.Fatalf("handshake without SNI: %v", err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("no-SNI handshake got serial %x, want %x", got.SerialNumber, leaf.SerialNumber)
	}
}

// TestHTTP01 gets a certificate with pebble fetching the token from HTTPHandler: pebble's
// tls-alpn-01 port is a listener that hangs up, so autocert falls back to http-01.
func TestHTTP01(t *testing.T) {
	tlsLn, httpLn, deadLn := listen(t), listen(t), listen(t)
	go func() { // accept and hang up: tls-alpn-01 fails at once
		for {
			c, err := deadLn.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	p := startPebble(t, pebbleOpts{httpPort: port(httpLn), tlsPort: port(deadLn)})
	dir := t.TempDir()
	m := newTestManager(t, p, dir, 0)
	serveTLS(t, tlsLn, m)

	var served atomic.Int32 // challenge responses with 200, i.e. tokens handed to pebble
	h := m.HTTPHandler()
	httpSrv := &http.Server{ErrorLog: discardLogger(), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, challengePrefix) && rec.status == http.StatusOK {
			served.Add(1)
		}
	})}
	go func() { _ = httpSrv.Serve(httpLn) }()
	t.Cleanup(func() { _ = httpSrv.Close() })

	leaf, err := handshake(tlsLn, p.root)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if served.Load() == 0 {
		t.Fatal("certificate issued but HTTPHandler never served a token")
	}
	if got := cachedLeaf(t, dir); got.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Errorf("cached serial %x, served %x", got.SerialNumber, leaf.SerialNumber)
	}
}

// TestRenewal: a cached certificate with less than RenewBefore left is replaced in the
// background while it is still being served. The first certificate comes from a pebble issuing
// 20-day certificates; the manager that renews has RenewBefore 25 days and asks a second pebble
// issuing 90-day ones, so exactly one renewal is due (no renew-again loop).
func TestRenewal(t *testing.T) {
	dir := t.TempDir()

	lnA := listen(t)
	short := startPebble(t, pebbleOpts{tlsPort: port(lnA), validity: 20 * 24 * time.Hour})
	serveTLS(t, lnA, newTestManager(t, short, dir, 0))
	old, err := handshake(lnA, short.root)
	if err != nil {
		t.Fatalf("first certificate: %v", err)
	}

	lnB := listen(t)
	long := startPebble(t, pebbleOpts{tlsPort: port(lnB)})
	serveTLS(t, lnB, newTestManager(t, long, dir, 25*24*time.Hour))

	// The cached certificate is still served at once; the renewal runs behind it.
	first, err := handshake(lnB, short.root, long.root)
	if err != nil {
		t.Fatal(err)
	}
	if first.SerialNumber.Cmp(old.SerialNumber) != 0 {
		t.Fatalf("served serial %x before renewal, want the cached %x", first.SerialNumber, old.SerialNumber)
	}

	deadline := time.Now().Add(patience)
	var renewed *x509.Certificate
	for renewed == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no renewal within %s; still serving serial %x", patience, old.SerialNumber)
		}
		time.Sleep(20 * time.Millisecond)
		leaf, err := handshake(lnB, short.root, long.root)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.SerialNumber.Cmp(old.SerialNumber) != 0 {
			renewed = leaf
		}
	}
	// The new chain verifies against the second CA's root alone.
	if _, err := handshake(lnB, long.root); err != nil {
		t.Fatalf("renewed certificate does not chain to the renewing CA: %v", err)
	}
	if renewed.Issuer.String() == old.Issuer.String() {
		t.Errorf("renewed certificate issued by %s, the first CA; want the second", renewed.Issuer)
	}
	if got := cachedLeaf(t, dir); got.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Errorf("cache holds serial %x, want the renewed %x", got.SerialNumber, renewed.SerialNumber)
	}
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
