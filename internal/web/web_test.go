package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func newTestHandler(gotHost *string) http.Handler {
	return New(Config{
		Files: fstest.MapFS{
			"index.html":     {Data: []byte("<h1>duet</h1>")},
			"room.html":      {Data: []byte("<h1>room</h1>")},
			"js/protocol.js": {Data: []byte("export {}")},
			"vendor/sio.js":  {Data: []byte("export {}")},
			"css/duet.css":   {Data: []byte("body{}")},
		},
		Signal: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "socket.io "+r.URL.RawQuery) }),
		ICEServers: func(host string) any {
			*gotHost = host
			return map[string]any{"iceServers": []any{}, "ttl": 60}
		},
		Health:  func() map[string]any { return map[string]any{"signal": "ok"} },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "duet_joins_total 0\n") }),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func TestRoutes(t *testing.T) {
	var gotHost string
	h := newTestHandler(&gotHost)
	tests := []struct {
		method, target, host string
		status               int
		body, contentType    string
	}{
		{"GET", "/", "", 200, "<h1>duet</h1>", "text/html"},
		{"GET", "/room.html?room=abc", "", 200, "<h1>room</h1>", "text/html"},
		{"GET", "/js/protocol.js", "", 200, "export {}", "javascript"},
		{"HEAD", "/css/duet.css", "", 200, "", "text/css"},
		{"GET", "/healthz", "", 200, `{"signal":"ok","status":"ok"}`, "application/json"},
		{"GET", "/api/ice-servers", "call.example.org:8443", 200, `{"iceServers":[],"ttl":60}`, "application/json"},
		{"GET", "/metrics", "", 200, "duet_joins_total 0\n", ""},
		{"GET", "/socket.io/?EIO=4&transport=polling", "", 200, "socket.io EIO=4&transport=polling", ""},
		{"POST", "/socket.io/?EIO=4&transport=polling", "", 200, "socket.io EIO=4&transport=polling", ""},
		{"GET", "/js/", "", 404, "not found\n", ""},
		{"GET", "/js", "", 404, "not found\n", ""},
		{"GET", "/vendor/", "", 404, "not found\n", ""},
		{"GET", "/nope.html", "", 404, "not found\n", ""},
		{"GET", "/../../etc/passwd", "", 404, "", ""},
		{"POST", "/index.html", "", 405, "method not allowed\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.RemoteAddr = "127.0.0.1:40000" // /metrics answers loopback clients
			if tt.host != "" {
				r.Host = tt.host
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", w.Body, tt.body)
			}
			if !strings.Contains(w.Header().Get("Content-Type"), tt.contentType) {
				t.Errorf("content type %q, want %q", w.Header().Get("Content-Type"), tt.contentType)
			}
			for _, name := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"} {
				if w.Header().Get(name) == "" {
					t.Errorf("missing %s", name)
				}
			}
		})
	}
	if gotHost != "call.example.org" {
		t.Errorf("ICEServers got host %q, want the request's host without port", gotHost)
	}
}

func TestRequestHost(t *testing.T) {
	for in, want := range map[string]string{
		"example.org":      "example.org",
		"example.org:8443": "example.org",
		"[::1]:8443":       "::1",
		"127.0.0.1:1":      "127.0.0.1",
	} {
		if got := requestHost(&http.Request{Host: in}); got != want {
			t.Errorf("requestHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHSTSOnlyWithARealCertificate(t *testing.T) {
	for _, hsts := range []bool{false, true} {
		var logs strings.Builder
		h := New(Config{
			Files: fstest.MapFS{"index.html": {Data: []byte("x")}}, Signal: http.NotFoundHandler(), Metrics: http.NotFoundHandler(),
			ICEServers: func(string) any { return nil }, Health: func() map[string]any { return nil },
			HSTS: hsts, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if got := w.Header().Get("Strict-Transport-Security") != ""; got != hsts {
			t.Errorf("HSTS %v: header present = %v", hsts, got)
		}
		if !strings.Contains(logs.String(), `"msg":"http","method":"GET","path":"/","status":200`) {
			t.Errorf("no access log line: %s", logs.String())
		}
	}
}

// TestEmbedHeaders: only the embedding origins may frame the page, and they may delegate camera,
// microphone and screen sharing to it.
func TestEmbedHeaders(t *testing.T) {
	tests := []struct {
		origins                []string
		ancestors, permissions string
	}{
		{nil, "frame-ancestors 'none'", "camera=(self), microphone=(self), display-capture=(self)"},
		{[]string{"https://app.example.org", "http://127.0.0.2:8080"}, "frame-ancestors https://app.example.org http://127.0.0.2:8080",
			`camera=(self "https://app.example.org" "http://127.0.0.2:8080"), microphone=(self "https://app.example.org" "http://127.0.0.2:8080"), display-capture=(self "https://app.example.org" "http://127.0.0.2:8080")`},
	}
	for _, tt := range tests {
		h := New(Config{Files: fstest.MapFS{"index.html": {Data: []byte("x")}}, EmbedOrigins: tt.origins,
			Logger: slog.New(slog.DiscardHandler)})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if csp := w.Header().Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; "+tt.ancestors) {
			t.Errorf("%v: CSP %q, want it to end with %q", tt.origins, csp, tt.ancestors)
		}
		if p := w.Header().Get("Permissions-Policy"); p != tt.permissions {
			t.Errorf("%v: Permissions-Policy %q, want %q", tt.origins, p, tt.permissions)
		}
	}
}
