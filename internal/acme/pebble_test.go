package acme

import (
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"duet/internal/duettest"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// testDomain is the name certificates are issued for: autocert refuses single-label names such as
// "localhost", and the tests' own DNS server (below) points it at 127.0.0.1.
const testDomain = "duet.test"

// pebble is Let's Encrypt's test ACME server, run in-process on loopback.
type pebble struct {
	dirURL string
	client *http.Client      // trusts pebble's HTTPS listeners
	root   *x509.Certificate // the CA's root, as served on the management interface
	logs   *duettest.LogBuffer
}

type pebbleOpts struct {
	httpPort, tlsPort int           // where pebble's validator connects for http-01 and tls-alpn-01
	validity          time.Duration // certificate lifetime; 0 = pebble's default (90 days)
}

// startPebble runs a fresh pebble (own database, own CA) whose validator resolves every name to
// 127.0.0.1 through a DNS server of the test's.
func startPebble(t *testing.T, o pebbleOpts) *pebble {
	t.Helper()
	// No random validation delays, no injected bad nonces, real validation.
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")

	p := &pebble{logs: &duettest.LogBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble log:\n%s", p.logs.String())
		}
	})
	logger := log.New(p.logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{"default": {Description: "test", ValidityPeriod: uint64(o.validity / time.Second)}}
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, profiles)
	validator := va.New(logger, o.httpPort, o.tlsPort, false, startDNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)

	acmeSrv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(acmeSrv.Close)
	mgmt := httptest.NewTLSServer(front.ManagementHandler())
	t.Cleanup(mgmt.Close)
	p.dirURL = acmeSrv.URL + wfe.DirectoryPath
	p.client = acmeSrv.Client() // httptest servers share one certificate, so this trusts mgmt too

	resp, err := p.client.Get(mgmt.URL + wfe.RootCertPath + "0")
	if err != nil {
		t.Fatalf("fetch pebble root: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	block, _ := pem.Decode(body)
	if resp.StatusCode != http.StatusOK || block == nil {
		t.Fatalf("pebble root: status %d, body %q", resp.StatusCode, body)
	}
	if p.root, err = x509.ParseCertificate(block.Bytes); err != nil {
		t.Fatalf("parse pebble root: %v", err)
	}
	return p
}

// startDNS serves A 127.0.0.1 for every name over TCP (pebble's validator asks over TCP) and
// returns its address.
func startDNS(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		for _, q := range req.Question {
			if q.Qtype == dns.TypeA {
				resp.Answer = append(resp.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(resp)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// listen opens a loopback TCP listener on a free port, closed when the test ends.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

func port(ln net.Listener) int { return ln.Addr().(*net.TCPAddr).Port }

func portString(ln net.Listener) string { return strconv.Itoa(port(ln)) }
