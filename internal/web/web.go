// Package web is duet's HTTPS front: the embedded call page, /healthz, /api/ice-servers and the
// Socket.IO endpoint, on one gin engine.
package web

import (
	"cmp"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"duet/internal/ipkey"
	"duet/internal/ratelimit"
)

// Config is what the web front serves; every part is provided by its own package.
type Config struct {
	Files      fs.FS                 // the browser client
	Signal     http.Handler          // Socket.IO, mounted at /socket.io/
	ICEServers func(host string) any // the body of /api/ice-servers for a page requested on host
	Health     func() map[string]any // per-component health for /healthz
	Metrics    http.Handler          // Prometheus metrics at /metrics
	// MetricsToken, when set, is the bearer token /metrics asks of every scrape; without it
	// /metrics answers loopback clients only.
	MetricsToken string
	ICERate      float64 // /api/ice-servers requests per second per client address; 0 = DefaultICERate
	HSTS         bool    // the certificate is a real one: browsers may pin HTTPS
	// API serves POST /api/rooms and Status /status and /status.css; nil leaves them out. /status
	// answers requests carrying one of APIKeys (bearer token, or basic auth password).
	API, Status http.Handler
	APIKeys     []string
	// EmbedOrigins may show the page in an iframe (CSP frame-ancestors) with camera, microphone and
	// screen sharing; no other site may frame it.
	EmbedOrigins []string
	Logger       *slog.Logger
}

// DefaultICERate lets a client address fetch credentials once a second, in bursts of ten: a page
// fetches them once per call and again before they expire.
const DefaultICERate = 1.0

// maxBody bounds every request body; the largest legitimate one is a Socket.IO polling POST.
const maxBody = 256 << 10

// burst is ten seconds' worth of rate, as for the Socket.IO limits.
func burst(perSecond float64) int { return max(1, int(10*perSecond)) }

// New returns the HTTP handler.
func New(cfg Config) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	_ = r.SetTrustedProxies(nil) // the client address is the peer's own, never a header's claim
	r.Use(gin.Recovery(), accessLog(cfg.Logger), securityHeaders(cfg.HSTS, cfg.EmbedOrigins), limitBody)
	iceLimit := ratelimit.New[netip.Prefix](cmp.Or(cfg.ICERate, DefaultICERate), burst(cmp.Or(cfg.ICERate, DefaultICERate)))
	r.GET("/healthz", func(c *gin.Context) {
		body := gin.H{"status": "ok"}
		for k, v := range cfg.Health() {
			body[k] = v
		}
		c.JSON(http.StatusOK, body)
	})
	r.GET("/metrics", metricsAccess(cfg.MetricsToken), gin.WrapH(cfg.Metrics))
	r.GET("/api/ice-servers", func(c *gin.Context) {
		c.Header("Cache-Control", "no-store") // credentials are per request and expire
		if ok, retry := iceLimit.Allow(ipkey.OfHostPort(c.Request.RemoteAddr), time.Now()); !ok {
			secs := int(math.Ceil(retry.Seconds()))
			c.Header("Retry-After", strconv.Itoa(secs))
			c.JSON(http.StatusTooManyRequests, gin.H{"error": "rate_limited",
				"reason": "too many /api/ice-servers requests from this address; retry after " + strconv.Itoa(secs) + " s"})
			return
		}
		c.JSON(http.StatusOK, cfg.ICEServers(requestHost(c.Request)))
	})
	if cfg.API != nil {
		r.POST("/api/rooms", gin.WrapH(cfg.API))
	}
	if cfg.Status != nil {
		r.GET("/status", keyAccess(cfg.APIKeys), gin.WrapH(cfg.Status))
		r.GET("/status.css", gin.WrapH(cfg.Status))
	}
	sio := gin.WrapH(cfg.Signal)
	r.GET("/socket.io/", sio)
	r.POST("/socket.io/", sio)
	r.NoRoute(static(cfg.Files))
	return r
}

// requestHost is the host part of the Host header, which is how the browser reached this server.
func requestHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		return r.Host
	}
	return host
}

// static serves the embedded files; a folder is never listed.
func static(files fs.FS) gin.HandlerFunc {
	server := http.FileServerFS(files)
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			c.String(http.StatusMethodNotAllowed, "method not allowed\n")
			return
		}
		if p != "/" {
			st, err := fs.Stat(files, path.Clean(p[1:]))
			if err != nil || st.IsDir() {
				c.String(http.StatusNotFound, "not found\n")
				return
			}
		}
		server.ServeHTTP(c.Writer, c.Request)
	}
}

// securityHeaders lets pages load only the server's own scripts, grants camera and microphone to
// them, and lets only the embedding origins (none by default) frame them.
func securityHeaders(hsts bool, embedders []string) gin.HandlerFunc {
	ancestors, allow := "'none'", "self"
	for i, o := range embedders { // config checked each is a bare origin
		if i == 0 {
			ancestors = ""
		}
		ancestors += " " + o
		allow += ` "` + o + `"`
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors " + strings.TrimSpace(ancestors)
	permissions := fmt.Sprintf("camera=(%[1]s), microphone=(%[1]s), display-capture=(%[1]s)", allow)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", permissions)
		if hsts { // never with a self-signed certificate: it would lock localhost to a certificate error
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

func limitBody(c *gin.Context) {
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	}
	c.Next()
}
