package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// expiryMargin is how close to its end a certificate may be: automatic renewal starts 30 days
// before, so under 14 days left means renewal is failing.
const expiryMargin = 14 * 24 * time.Hour

// resolve is the DNS step: the server's addresses, which later steps dial and compare the relay with.
func (r *run) resolve(ctx context.Context) (string, error) {
	if a, err := netip.ParseAddr(r.o.host); err == nil {
		r.addrs = []netip.Addr{a.Unmap()}
		return a.String() + " (an address: no DNS lookup)", nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", r.o.host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return "", fail(r.o.host+" does not resolve (no such name)",
				"there is no DNS record for it", "create an A (and AAAA) record pointing at the server's public address")
		}
		return "", fail("DNS lookup of "+r.o.host+" failed: "+err.Error(),
			"this machine's resolver or the name's DNS servers do not answer", "check the name and this machine's DNS")
	}
	r.addrs = nil
	for _, a := range addrs {
		if a = a.Unmap(); !slices.Contains(r.addrs, a) {
			r.addrs = append(r.addrs, a)
		}
	}
	// IPv4 first: most clouds map only IPv4 1:1, and the relay compares against it.
	sort.SliceStable(r.addrs, func(i, j int) bool { return r.addrs[i].Is4() && !r.addrs[j].Is4() })
	return r.o.host + " → " + joinAddrs(r.addrs), nil
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// dialTCP connects to the first of the server's addresses that answers on port.
func (r *run) dialTCP(ctx context.Context, port string) (net.Conn, error) {
	var errs []error
	var d net.Dialer
	for _, a := range r.addrs {
		addr := net.JoinHostPort(a.String(), port)
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, nil
		}
		errs = append(errs, dialProblem(err, addr, "TCP", "duet is not running there", "start duet (--listen :"+port+")"))
	}
	if len(errs) == 0 {
		return nil, errors.New("no address to dial")
	}
	return nil, errs[0] // the first address is the one browsers try first
}

// dialProblem explains a failed connection: refused (nothing listens), timed out (a firewall drops
// it), or unreachable (routing).
func dialProblem(err error, addr, proto, notRunning, start string) error {
	_, port, _ := net.SplitHostPort(addr)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail("nothing answers on "+addr+" (connection refused)",
			notRunning+" or "+proto+" "+port+" is closed", start+", or open "+proto+" "+port)
	case isTimeout(err):
		return fail("no answer from "+addr,
			proto+" "+port+" is probably blocked by a firewall or security group", "open "+proto+" "+port)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fail(addr+" is unreachable from here ("+err.Error()+")",
			"no route to the address", "check the address and this machine's network")
	}
	return fail("cannot connect to "+addr+": "+err.Error(), "the connection failed", "check that "+proto+" "+port+" reaches the server")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// https is the TLS step: connect, shake hands, and judge the certificate ourselves so that
// --insecure can still say what is wrong with it.
func (r *run) https(ctx context.Context) (string, error) {
	raw, err := r.dialTCP(ctx, r.o.port)
	if err != nil {
		return "", err
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{ServerName: r.o.host, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err := conn.HandshakeContext(ctx); err != nil {
		var rh tls.RecordHeaderError
		if errors.As(err, &rh) {
			return "", fail(raw.RemoteAddr().String()+" answers but not with TLS",
				"a plain-HTTP server or proxy holds the port", "serve duet's HTTPS there, or use the port duet listens on")
		}
		if isTimeout(err) {
			return "", fail("the TLS handshake with "+raw.RemoteAddr().String()+" got no answer",
				"something accepts TCP but does not speak TLS (a load balancer with no backend?)", "point the port at duet")
		}
		return "", fail("the TLS handshake with "+raw.RemoteAddr().String()+" failed: "+err.Error(),
			"the server refused the handshake", "check the proxy or duet's certificate settings")
	}
	state := conn.ConnectionState()
	leaf := state.PeerCertificates[0]
	names := certNames(leaf)
	left := time.Until(leaf.NotAfter)
	validity := fmt.Sprintf("valid until %s (%d days)", leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
	switch {
	case left <= 0:
		return "", fail("the certificate for "+names+" expired on "+leaf.NotAfter.UTC().Format(time.DateOnly),
			"it was not renewed", "renew it (with --domain duet renews by itself when port 80 reaches it)")
	case left < expiryMargin:
		return "", fail(fmt.Sprintf("the certificate for %s expires in %d days", names, int(left.Hours()/24)),
			"renewal is failing (it should happen 30 days ahead)", "renew it now (with --domain, check that port 80 reaches duet)")
	case time.Now().Before(leaf.NotBefore):
		return "", fail("the certificate is not valid before "+leaf.NotBefore.UTC().Format(time.RFC3339),
			"the server's or this machine's clock is wrong", "fix the clock (NTP)")
	}

	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: r.o.host, Intermediates: intermediates})
	r.trusted = verr == nil
	summary := fmt.Sprintf("%s, certificate for %s", tls.VersionName(state.Version), names)
	if verr == nil {
		return fmt.Sprintf("%s by %s, %s", summary, issuer(leaf), validity), nil
	}
	why, fix := untrusted(verr, leaf, r.o.host)
	if r.o.insecure {
		return fmt.Sprintf("%s, %s — untrusted, accepted with --insecure: %s", summary, validity, why), nil
	}
	return "", fail(summary+": "+why, "browsers will refuse this certificate", fix)
}

// untrusted says why verification failed and what fixes it.
func untrusted(err error, leaf *x509.Certificate, host string) (why, fix string) {
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	switch {
	case errors.As(err, &hostErr):
		return "it does not name " + host, "get a certificate for " + host + " (duet --domain " + host + ")"
	case errors.As(err, &authErr) && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil:
		return "it is self-signed", "use --domain for a Let's Encrypt certificate or --tls-cert/--tls-key (or pass --insecure to check a test server)"
	case errors.As(err, &authErr):
		return "it is signed by an unknown authority (or the intermediate is missing)", "serve the full chain (fullchain.pem) with --tls-cert"
	}
	return err.Error(), "install a certificate browsers trust"
}

func certNames(c *x509.Certificate) string {
	names := slices.Clone(c.DNSNames)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return c.Subject.CommonName
	}
	if len(names) > 3 {
		names = append(names[:3], "…")
	}
	return strings.Join(names, ", ")
}

func issuer(c *x509.Certificate) string {
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0] + " " + c.Issuer.CommonName
	}
	return c.Issuer.CommonName
}

// client is an HTTP client pinned to the addresses the DNS step found.
func (r *run) client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return r.dialTCP(ctx, r.o.port) },
		// The HTTPS step already judged the certificate; --insecure means the user accepted it.
		TLSClientConfig:   &tls.Config{ServerName: r.o.host, InsecureSkipVerify: r.o.insecure},
		DisableKeepAlives: true,
	}}
}

// get fetches path and decodes its JSON body into v, explaining a non-200 answer.
func (r *run) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.o.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.client().Do(req)
	if err != nil {
		var p *problem
		if errors.As(err, &p) {
			return p
		}
		return fail("GET "+path+" failed: "+err.Error(), "the server did not answer the request", "check duet's log")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fail("GET "+path+" answered 404", "this server is not duet, or a proxy sends "+path+" elsewhere",
			"point the name at duet, or make the proxy pass every path to it")
	case resp.StatusCode >= 502 && resp.StatusCode <= 504:
		return fail("GET "+path+" answered "+resp.Status, "a reverse proxy answers but duet behind it does not",
			"start duet, or fix the proxy's upstream address")
	case resp.StatusCode != http.StatusOK:
		return fail("GET "+path+" answered "+resp.Status, "the server refused the request", "check duet's log")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail("GET "+path+" is not JSON: "+err.Error(), "something other than duet answers", "point the name at duet")
	}
	return nil
}

// healthz is the health step: /healthz answers 200 with status ok; every component is shown.
func (r *run) healthz(ctx context.Context) (string, error) {
	var h map[string]any
	if err := r.get(ctx, "/healthz", &h); err != nil {
		return "", err
	}
	r.health = h
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "status" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("status=%v", h["status"])}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, h[k]))
	}
	detail := strings.Join(parts, " ")
	if h["status"] != "ok" {
		return "", fail("/healthz says "+detail, "duet reports itself unhealthy", "read duet's log")
	}
	return detail, nil
}
