package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

func handlerWith(cfg Config) http.Handler {
	cfg.Files = fstest.MapFS{"index.html": {Data: []byte("x")}}
	cfg.Signal = http.NotFoundHandler()
	cfg.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "duet_joins_total 0\n") })
	cfg.ICEServers = func(string) any { return map[string]any{"iceServers": []any{}} }
	cfg.Health = func() map[string]any { return nil }
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return New(cfg)
}

func get(h http.Handler, target, remote string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestMetricsAccess(t *testing.T) {
	open, locked := handlerWith(Config{}), handlerWith(Config{MetricsToken: "s3cret"})
	tests := []struct {
		name   string
		h      http.Handler
		remote string
		auth   string
		status int
	}{
		{"loopback, no token set", open, "127.0.0.1:5000", "", 200},
		{"loopback IPv6", open, "[::1]:5000", "", 200},
		{"other loopback address", open, "127.0.0.9:5000", "", 200},
		{"public address", open, "203.0.113.9:5000", "", 403},
		{"private address", open, "10.0.0.5:5000", "", 403},
		{"public address with some token", open, "203.0.113.9:5000", "Bearer x", 403},
		{"token set, right token", locked, "203.0.113.9:5000", "Bearer s3cret", 200},
		{"token set, loopback needs it too", locked, "127.0.0.1:5000", "", 401},
		{"token set, wrong token", locked, "203.0.113.9:5000", "Bearer s3cre", 401},
		{"token set, longer token", locked, "203.0.113.9:5000", "Bearer s3crets", 401},
		{"token set, not a bearer", locked, "203.0.113.9:5000", "s3cret", 401},
		{"token set, basic", locked, "203.0.113.9:5000", "Basic s3cret", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(tt.h, "/metrics", tt.remote, "Authorization", tt.auth)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got := strings.Contains(w.Body.String(), "duet_joins_total"); got != (tt.status == 200) {
				t.Errorf("metrics in the body: %v, status %d", got, w.Code)
			}
		})
	}
}

func TestICEServersRateLimit(t *testing.T) {
	h := handlerWith(Config{ICERate: 0.5}) // bursts of 5
	for i := range 5 {
		if w := get(h, "/api/ice-servers", "203.0.113.1:1000", ""); w.Code != 200 {
			t.Fatalf("request %d of the burst: %d", i, w.Code)
		}
	}
	w := get(h, "/api/ice-servers", "203.0.113.1:1001")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("over the burst: %d, want 429", w.Code)
	}
	var body struct{ Error, Reason string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error != "rate_limited" || !strings.Contains(body.Reason, "retry after") {
		t.Errorf("429 body %s (%v)", w.Body, err)
	}
	if ra := w.Header().Get("Retry-After"); ra != "2" && ra != "1" {
		t.Errorf("Retry-After %q, want 2 (one token at 0.5/s), or 1 on a slow run", ra)
	}
	if w := get(h, "/api/ice-servers", "203.0.113.2:1000"); w.Code != 200 {
		t.Errorf("another address: %d", w.Code)
	}
	if w := get(h, "/api/ice-servers", "[2001:db8::1]:1000"); w.Code != 200 {
		t.Errorf("an IPv6 address: %d", w.Code)
	}
	for i := range 4 { // the same /64 shares the bucket
		get(h, "/api/ice-servers", fmt.Sprintf("[2001:db8::%x]:1000", i+2))
	}
	if w := get(h, "/api/ice-servers", "[2001:db8::ff]:1000"); w.Code != 429 {
		t.Errorf("another address of the same /64: %d, want 429", w.Code)
	}
}

func TestAccessLogBounded(t *testing.T) {
	var logs strings.Builder
	h := handlerWith(Config{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	long := "/" + strings.Repeat("a", 300) + "é" + strings.Repeat("b", 5000)
	get(h, long+"?q="+strings.Repeat("c", 5000), "203.0.113.1:1000")
	var line struct{ Path string }
	if err := json.Unmarshal([]byte(strings.SplitN(logs.String(), "\n", 2)[0]), &line); err != nil {
		t.Fatal(err)
	}
	if want := long[:maxLoggedPath] + "…"; line.Path != want {
		t.Errorf("logged path %d bytes (%.40q…), want the first %d and a mark", len(line.Path), line.Path, maxLoggedPath)
	}
	if strings.Contains(logs.String(), "ccc") {
		t.Error("the query was logged")
	}

	logs.Reset()
	for range 200 {
		get(h, "/nope", "203.0.113.2:1000")
	}
	get(h, "/nope", "203.0.113.3:1000")
	// Its burst, plus one a second for however long the loop took.
	if n := strings.Count(logs.String(), `"remote":"203.0.113.2"`); n < logBurst || n > logBurst+20 {
		t.Errorf("one client's 200 requests at once made %d info lines, want about its burst of %d", n, logBurst)
	}
	if !strings.Contains(logs.String(), `"remote":"203.0.113.3"`) {
		t.Error("another client's request went unlogged")
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"/short", 10, "/short"},
		{"/exactly10", 10, "/exactly10"},
		{"/elevenchar", 10, "/elevencha…"},
		{"/aé", 3, "/a…"}, // é is two bytes: never cut inside it
		{"ééé", 4, "éé…"},
		{"", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzTruncate: request paths are untrusted; the logged form is a prefix of at most n bytes plus
// the mark, and never splits a character of a valid path.
func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "/a", "/ééé", "\xff\xfe", strings.Repeat("x", 300)} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1000 {
			return
		}
		got := truncate(s, n)
		base := strings.TrimSuffix(got, "…")
		if got == s {
			return
		}
		if len(base) > n || !strings.HasPrefix(s, base) {
			t.Fatalf("truncate(%q, %d) = %q", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("truncate(%q, %d) = %q split a character", s, n, got)
		}
	})
}
