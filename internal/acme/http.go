package acme

import (
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// challengePrefix is where ACME http-01 validators fetch their tokens.
const challengePrefix = "/.well-known/acme-challenge/"

// HTTPHandler is for the plain-HTTP listener (port 80): it answers http-01 challenges and sends
// everything else to HTTPS with 308, which keeps the method and body. Calling it also enables
// http-01 as autocert's fallback after tls-alpn-01.
func (m *Manager) HTTPHandler() http.Handler {
	challenge := m.ac.HTTPHandler(http.NotFoundHandler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, challengePrefix) {
			http.Redirect(w, r, m.redirectTarget(r), http.StatusPermanentRedirect)
			return
		}
		// autocert checks the host policy against Host as sent; the port is not part of the name.
		r2 := r.Clone(r.Context())
		r2.Host = hostOnly(r.Host)
		challenge.ServeHTTP(w, r2)
	})
}

// redirectTarget is the HTTPS URL for r: one of our names (the Host if it is one, else the first
// domain, so a forged Host cannot make us redirect elsewhere), the public HTTPS port unless
// it is 443, and r's path and query.
func (m *Manager) redirectTarget(r *http.Request) string {
	host := strings.ToLower(strings.TrimSuffix(hostOnly(r.Host), "."))
	if !slices.Contains(m.domains, host) {
		host = m.domains[0]
	}
	if m.httpsPort != 0 && m.httpsPort != 443 {
		host = net.JoinHostPort(host, strconv.Itoa(m.httpsPort))
	}
	return "https://" + host + r.URL.RequestURI()
}

// hostOnly drops any :port from a Host header value.
func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return hostport
}
