package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"duet/internal/api"
	"duet/internal/ipkey"
	"duet/internal/ratelimit"
)

// What one client can make the access log write: its paths are cut to maxLoggedPath bytes, and
// past a burst of logBurst lines it gets one info line per second; the rest go to debug.
const (
	maxLoggedPath   = 256
	maxLoggedMethod = 16
	logRate         = 1.0
	logBurst        = 20
)

// accessLog logs each request at info level, within each client's budget; Socket.IO's polling
// requests, many per call, at debug.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	budget := ratelimit.New[netip.Prefix](logRate, logBurst)
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		level := slog.LevelInfo
		if strings.HasPrefix(c.Request.URL.Path, "/socket.io/") {
			level = slog.LevelDebug
		} else if ok, _ := budget.Allow(ipkey.OfHostPort(c.Request.RemoteAddr), start); !ok {
			level = slog.LevelDebug
		}
		if !log.Enabled(c.Request.Context(), level) {
			return
		}
		log.Log(c.Request.Context(), level, "http", "method", truncate(c.Request.Method, maxLoggedMethod),
			"path", truncate(c.Request.URL.Path, maxLoggedPath), "status", c.Writer.Status(),
			"bytes", c.Writer.Size(), "duration", time.Since(start), "remote", c.ClientIP())
	}
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// metricsAccess keeps /metrics private: with a token, every scrape must carry it as a bearer
// token; without one, only loopback clients (make run, a local Prometheus) are answered.
func metricsAccess(token string) gin.HandlerFunc {
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		if token != "" {
			got, bearer := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
			// Hashing first makes the comparison's time independent of the lengths too.
			if sum := sha256.Sum256([]byte(got)); !bearer || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
				c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "unauthorized",
					"reason": "/metrics needs the bearer token set with --metrics-token"})
				return
			}
		} else if ap, err := netip.ParseAddrPort(c.Request.RemoteAddr); err != nil || !ap.Addr().Unmap().IsLoopback() {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "forbidden",
				"reason": "/metrics answers loopback clients only; set --metrics-token or --metrics-listen to scrape it from elsewhere"})
			return
		}
		c.Next()
	}
}

// keyAccess keeps a page for the operator behind the API keys: a bearer token for scripts, basic
// auth (any user, a key as password) for a browser, which then asks for it.
func keyAccess(keys []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(keys) == 0 || !(api.Authorized(keys, c.Request) || api.AuthorizedBasic(keys, c.Request)) {
			c.Header("WWW-Authenticate", `Basic realm="duet", charset="UTF-8"`)
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "unauthorized",
				"reason": "send an API key (--api-key) as a bearer token or as the basic auth password"})
			return
		}
		c.Next()
	}
}
