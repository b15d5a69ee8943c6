package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"duet/internal/api"
	"duet/internal/duettest"
	"duet/internal/sio"
	"duet/internal/siotest"
	"duet/internal/webhook"
	"duet/internal/webhook/webhooktest"
)

const testKey = "test-api-key-0123456789"

// request sends method url with an optional Authorization header and JSON body.
func request(t *testing.T, method, u, auth, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := duettest.Insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// mint asks the API of the duet at base for a room, failing t unless it answers 201.
func mint(t *testing.T, base, body string) api.CreateResponse {
	t.Helper()
	status, _, got := request(t, "POST", base+"/api/rooms", "Bearer "+testKey, body)
	var r api.CreateResponse
	if status != http.StatusCreated || json.Unmarshal([]byte(got), &r) != nil {
		t.Fatalf("POST /api/rooms: %d %s", status, got)
	}
	return r
}

// TestInviteAPI runs the real binary in token mode: only minted invites open rooms, each for its
// own room.
func TestInviteAPI(t *testing.T) {
	d := duettest.Start(t, duettest.Binary(t), "--listen", "127.0.0.1:0", "--turn-listen", "", "--rooms", "token",
		"--api-key", testKey, "--invite-secret", strings.Repeat("i", 32))
	for _, auth := range []string{"", "Bearer wrong-key-0123456789", basicAuth("", testKey)} {
		if status, _, body := request(t, "POST", d.URL+"/api/rooms", auth, ""); status != http.StatusUnauthorized {
			t.Errorf("POST /api/rooms with %q: %d %s, want 401", auth, status, body)
		}
	}
	a := mint(t, d.URL, "")
	if !regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$`).MatchString(a.Room) {
		t.Errorf("generated room %q has not the documented shape", a.Room)
	}
	link, err := url.Parse(a.URL)
	if err != nil || link.Query().Get("room") != a.Room || link.Fragment != "token="+a.Token || link.Host != strings.TrimPrefix(d.URL, "https://") {
		t.Errorf("join URL %q for room %q", a.URL, a.Room)
	}
	b := mint(t, d.URL, `{"room":"room-b","ttl_seconds":60}`)
	short := mint(t, d.URL, `{"room":"room-c","ttl_seconds":1}`)
	time.Sleep(2100 * time.Millisecond) // the short invite expires (JWT times are whole seconds)
	type opts = map[string]any
	siotest.Run(t, d.URL, 4, []string{"websocket"}, siotest.Connect("x"), siotest.Connect("y"),
		siotest.Emit("x", "join", a.Room),
		siotest.Expect("x", "error", siotest.Refused("join", "token_required")),
		siotest.Emit("x", "join", a.Room, opts{"token": b.Token}),
		siotest.Expect("x", "error", siotest.Refused("join", "invalid_token")),
		siotest.Emit("x", "join", "room-c", opts{"token": short.Token}),
		siotest.Expect("x", "error", siotest.Refused("join", "expired_token")),
		siotest.Emit("x", "join", a.Room, opts{"token": a.Token}),
		siotest.Expect("x", "joined", a.Room, "$x", opts{"resume": "*"}),
		siotest.Emit("y", "join", a.Room, opts{"token": a.Token}),
		siotest.Expect("y", "joined", a.Room, "$y", opts{"resume": "*"}),
		siotest.Expect("x", "other_joined", a.Room, "$y"))
	// A classic 2.x client cannot send options: it has no way into a token-mode server.
	siotest.Run(t, d.URL, 2, []string{"websocket"}, siotest.Connect("z"),
		siotest.Emit("z", "join", "room-b"), siotest.Expect("z", "error", siotest.Refused("join", "token_required")))
}

// TestAPIOffWithoutKey: without --api-key there is no API, and /status does not exist.
func TestAPIOffWithoutKey(t *testing.T) {
	url, _ := startDuet(t, "--turn-listen", "")
	for _, path := range []string{"/api/rooms", "/status"} {
		method := "GET"
		if path == "/api/rooms" {
			method = "POST"
		}
		if status, _, body := request(t, method, url+path, "Bearer "+testKey, ""); status == http.StatusOK || status == http.StatusCreated {
			t.Errorf("%s %s without --api-key: %d %s", method, path, status, body)
		}
	}
}

// TestStatusPage: /status refuses without a key and shows live numbers during a call, with no room
// name, under the page's CSP.
func TestStatusPage(t *testing.T) {
	url, _ := startDuet(t, "--api-key", testKey, "--turn-listen", "127.0.0.1:0")
	for _, auth := range []string{"", "Bearer nope", basicAuth("user", "nope")} {
		status, h, _ := request(t, "GET", url+"/status", auth, "")
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("/status with %q: %d, WWW-Authenticate %q; want 401 asking for basic auth", auth, status, h.Get("WWW-Authenticate"))
		}
	}
	host := strings.TrimPrefix(url, "https://")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var clients []*sio.Client
	for range 3 {
		c, err := sio.Dial(ctx, sio.DialConfig{Host: host, TLS: &tls.Config{InsecureSkipVerify: true}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	for i, name := range []string{"secret-call", "secret-call", "secret-wait"} {
		if err := clients[i].Emit("join", name); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-clients[i].Events():
			if e.Name != "joined" {
				t.Fatalf("join: %s %s", e.Name, e.Args)
			}
		case <-ctx.Done():
			t.Fatal("no joined")
		}
	}
	_ = clients[2].Emit("leave", "not-mine") // one refusal: not_in_room
	<-clients[2].Events()
	basic := basicAuth("anyone", testKey)
	for _, auth := range []string{"Bearer " + testKey, basic} {
		status, h, page := request(t, "GET", url+"/status", auth, "")
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Fatalf("/status with %q: %d %s", auth, status, page)
		}
		for _, want := range []string{`<td id="calls">1</td>`, `<td id="waiting">1</td>`, `<td id="connections">3</td>`,
			`<td id="allocations">0</td>`, `<th>not_in_room</th><td>1</td>`, `http-equiv="refresh"`, `href="/status.css"`} {
			if !strings.Contains(page, want) {
				t.Errorf("/status lacks %s:\n%s", want, page)
			}
		}
		if strings.Contains(page, "secret-") || strings.Contains(page, "<script") || strings.Contains(page, "style=") {
			t.Errorf("/status shows a room name or inline code:\n%s", page)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") {
			t.Errorf("/status CSP %q", csp)
		}
	}
	if css := duettest.Get(t, url+"/status.css"); !strings.Contains(css, "table") {
		t.Errorf("/status.css: %q", css)
	}
}

// TestWebhookFlags: --webhook-url and --webhook-secret make the binary report a room's life, signed.
func TestWebhookFlags(t *testing.T) {
	rx := webhooktest.Start(t, []byte("hook-secret"))
	url, stop := startDuet(t, "--turn-listen", "", "--webhook-url", rx.URL, "--webhook-secret", "hook-secret")
	siotest.Run(t, url, 4, []string{"websocket"}, siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "flagged"), siotest.Expect("a", "joined", "flagged", "$a"),
		siotest.Emit("b", "join", "flagged"), siotest.Expect("b", "joined", "flagged", "$b"),
		siotest.Expect("a", "other_joined", "flagged", "$b"), siotest.Expect("a", "otherjoin", "flagged", "$b"),
		siotest.Emit("a", "leave", "flagged"), siotest.Expect("a", "leaved", "flagged", "$a"),
		siotest.Expect("b", "bye", "flagged", "$a"),
		siotest.Emit("b", "leave", "flagged"), siotest.Expect("b", "leaved", "flagged", "$b"))
	var got []webhook.Event
	for range 6 {
		got = append(got, rx.Next(t))
	}
	webhooktest.CheckRoomLife(t, "flagged", got)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	rx.Quiet(t, 200*time.Millisecond)
}
