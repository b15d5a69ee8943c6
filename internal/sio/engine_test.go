package sio

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// recorder is a Handler that writes down every call, per socket.
type recorder struct {
	mu       sync.Mutex
	calls    map[string][]string // socket id → "connect", "event NAME ARGS", "disconnect REASON"
	reasons  map[string]error
	admitted int
	released int
	sockets  chan *Socket
}

func newRecorder() *recorder {
	return &recorder{calls: map[string][]string{}, reasons: map[string]error{}, sockets: make(chan *Socket, 1024)}
}

func (h *recorder) Admit(*http.Request) (func(), error) {
	h.mu.Lock()
	h.admitted++
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.released++
		h.mu.Unlock()
	}, nil
}

func (h *recorder) add(c *Socket, call string) {
	h.mu.Lock()
	h.calls[c.ID()] = append(h.calls[c.ID()], call)
	h.mu.Unlock()
}

func (h *recorder) Connect(c *Socket) {
	h.add(c, "connect")
	h.sockets <- c
}

func (h *recorder) Event(c *Socket, name string, args []json.RawMessage) {
	raw, _ := json.Marshal(args)
	h.add(c, "event "+name+" "+string(raw))
	if name == "echo" {
		c.Emit("echo", args[0])
	}
}

func (h *recorder) Disconnect(c *Socket, reason error) {
	h.add(c, "disconnect")
	h.mu.Lock()
	h.reasons[c.ID()] = reason
	h.mu.Unlock()
}

// ended waits until socket id was disconnected and returns why.
func (h *recorder) ended(t *testing.T, id string) error {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		err, ok := h.reasons[id]
		h.mu.Unlock()
		if ok {
			return err
		}
	}
	t.Fatalf("socket %s was not disconnected", id)
	return nil
}

// serve runs a Server with short heartbeats on plain HTTP.
func serve(t *testing.T, interval time.Duration) (*Server, *recorder, string) {
	t.Helper()
	h := newRecorder()
	s, err := New(Config{PingInterval: interval, PingTimeout: interval, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, h, ts.URL + "/socket.io/"
}

func TestHTTPRules(t *testing.T) {
	_, _, url := serve(t, time.Minute)
	tests := []struct {
		name, method, query string
		header              http.Header
		status, code        int
	}{
		{"no EIO", "GET", "transport=polling", nil, 400, codeBadVersion},
		{"EIO 5", "GET", "EIO=5&transport=polling", nil, 400, codeBadVersion},
		{"EIO not a number", "GET", "EIO=four&transport=polling", nil, 400, codeBadVersion},
		{"unknown transport", "GET", "EIO=4&transport=flashsocket", nil, 400, codeUnknownTransport},
		{"no transport", "GET", "EIO=4", nil, 400, codeUnknownTransport},
		{"handshake by POST", "POST", "EIO=4&transport=polling", nil, 400, codeBadHandshake},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil, 400, codeUnknownSID},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", nil, 400, codeUnknownSID},
		{"websocket without Upgrade", "GET", "EIO=4&transport=websocket", nil, 400, codeBadRequest},
		{"unknown sid websocket", "GET", "EIO=4&transport=websocket&sid=nope", http.Header{"Upgrade": {"websocket"}}, 400, codeUnknownSID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, url+"?"+tt.query, strings.NewReader("1:6"))
			for k, v := range tt.header {
				req.Header[k] = v
			}
			status, body := do(t, req)
			var e struct{ Code int }
			if status != tt.status || json.Unmarshal([]byte(body), &e) != nil || e.Code != tt.code {
				t.Errorf("%d %s, want %d with code %d", status, body, tt.status, tt.code)
			}
		})
	}
}

// TestSessionRules are the per-session rules: a sid of one Engine.IO version is unknown to the
// other, a method other than GET and POST is refused, overlapping polls close the session.
func TestSessionRules(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 4)
	req, _ := http.NewRequest("GET", url+"?EIO=3&transport=polling&sid="+sid, nil)
	if status, _ := do(t, req); status != 400 {
		t.Errorf("EIO3 request with an EIO4 sid: %d", status)
	}
	req, _ = http.NewRequest("PUT", url+"?EIO=4&transport=polling&sid="+sid, nil)
	if status, _ := do(t, req); status != 400 {
		t.Errorf("PUT: %d", status)
	}
	post(t, url, 4, sid, "40")
	c := <-h.sockets
	first := make(chan string, 1)
	go func() { first <- get(t, url, 4, sid) }() // takes the CONNECT answer
	<-first
	go func() { first <- get(t, url, 4, sid) }() // waits
	for !pending(c) {
		time.Sleep(time.Millisecond)
	}
	req, _ = http.NewRequest("GET", url+"?EIO=4&transport=polling&sid="+sid, nil)
	if status, _ := do(t, req); status != 400 {
		t.Errorf("overlapping GET: %d", status)
	}
	if got := <-first; got != "1" {
		t.Errorf("the pending GET of a closed session got %q, want the close packet", got)
	}
	if err := h.ended(t, c.ID()); !errors.Is(err, ErrOverlap) {
		t.Errorf("closed for %v", err)
	}
}

func pending(c *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getting
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// pollHandshake opens a polling session and returns its sid.
func pollHandshake(t *testing.T, url string, version int) string {
	t.Helper()
	body := get(t, url, version, "")
	if version == 3 {
		_, body, _ = strings.Cut(body, ":")
		body, _, _ = strings.Cut(body, "2:40") // Socket.IO 4 connects at once
	}
	var open struct {
		SID        string   `json:"sid"`
		Upgrades   []string `json:"upgrades"`
		MaxPayload int      `json:"maxPayload"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open); err != nil || open.SID == "" || open.MaxPayload != MaxPacketBytes || len(open.Upgrades) != 1 {
		t.Fatalf("handshake %q: %v", body, err)
	}
	return open.SID
}

func get(t *testing.T, url string, version int, sid string) string {
	t.Helper()
	u := url + "?EIO=" + string(rune('0'+version)) + "&transport=polling"
	if sid != "" {
		u += "&sid=" + sid
	}
	req, _ := http.NewRequest("GET", u, nil)
	status, body := do(t, req)
	if status != 200 {
		t.Errorf("GET %s: %d %s", u, status, body)
	}
	return body
}

func post(t *testing.T, url string, version int, sid, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"?EIO="+string(rune('0'+version))+"&transport=polling&sid="+sid, strings.NewReader(body))
	status, _ := do(t, req)
	return status
}

// dial opens a websocket: a new session, or the upgrade of sid.
func dial(t *testing.T, url string, version int, sid string) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(url, "http") + "?EIO=" + string(rune('0'+version)) + "&transport=websocket"
	if sid != "" {
		u += "&sid=" + sid
	}
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func send(t *testing.T, ws *websocket.Conn, msg string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// connectWS opens a websocket session and joins "/", returning the Socket.IO CONNECT answer.
func connectWS(t *testing.T, url string) (*websocket.Conn, string) {
	t.Helper()
	ws, _, err := dial(t, url, 4, "")
	if err != nil {
		t.Fatal(err)
	}
	if open := read(t, ws); !strings.HasPrefix(open, `0{"sid":`) || !strings.Contains(open, `"upgrades":[]`) {
		t.Fatalf("open packet %q", open)
	}
	send(t, ws, "40")
	return ws, read(t, ws)
}

func TestUpgrade(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 4)
	post(t, url, 4, sid, "40")
	c := <-h.sockets
	if got := get(t, url, 4, sid); got != `40{"sid":"`+c.ID()+`"}` {
		t.Fatalf("CONNECT answered %q", got)
	}
	if c.ID() == sid {
		t.Fatal("the socket id is the session id")
	}
	polled := make(chan string, 1)
	go func() { polled <- get(t, url, 4, sid) }()
	ws, _, err := dial(t, url, 4, sid)
	if err != nil {
		t.Fatal(err)
	}
	send(t, ws, "2probe")
	if got := read(t, ws); got != "3probe" {
		t.Fatalf("probe answered %q", got)
	}
	if got := <-polled; got != "6" {
		t.Fatalf("the pending poll got %q, want a noop", got)
	}
	send(t, ws, "5")
	send(t, ws, `42["echo","after upgrade"]`)
	if got := read(t, ws); got != `42["echo","after upgrade"]` {
		t.Fatalf("echo %q", got)
	}
	// The sid now belongs to the websocket: polling and a second websocket are refused.
	req, _ := http.NewRequest("GET", url+"?EIO=4&transport=polling&sid="+sid, nil)
	if status, _ := do(t, req); status != 400 {
		t.Errorf("poll after upgrade: %d", status)
	}
	if status := post(t, url, 4, sid, `42["echo","x"]`); status != 400 {
		t.Errorf("POST after upgrade: %d", status)
	}
	if _, resp, err := dial(t, url, 4, sid); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("second websocket: %v %v", resp, err)
	}
	send(t, ws, `42["echo","still here"]`)
	if got := read(t, ws); got != `42["echo","still here"]` {
		t.Fatalf("echo %q", got)
	}
}

func TestClassicHandshake(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 3) // checks the open packet is followed by Socket.IO 4's CONNECT
	c := <-h.sockets
	if status := post(t, url, 3, sid, "1:212:42[\"echo\",1]5:40/x,"); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	if got := get(t, url, 3, sid); got != `1:312:42["echo",1]24:44/x,"Invalid namespace"` {
		t.Errorf("answers %q", got)
	}
	ws, _, err := dial(t, url, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	read(t, ws)
	if got := read(t, ws); got != "40" {
		t.Errorf("EIO3 websocket CONNECT %q", got)
	}
	send(t, ws, "2")
	if got := read(t, ws); got != "3" {
		t.Errorf("EIO3 ping answered %q", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.calls[c.ID()][0] != "connect" {
		t.Errorf("calls %v", h.calls[c.ID()])
	}
}

// TestHeartbeat: Engine.IO 4 closes a connection whose pings go unanswered, and pongs sent before
// any ping do not postpone the pings.
func TestHeartbeat(t *testing.T) {
	_, h, url := serve(t, 500*time.Millisecond)
	t.Run("answered", func(t *testing.T) {
		ws, _ := connectWS(t, url)
		for range 3 {
			if got := read(t, ws); got != "2" {
				t.Fatalf("got %q, want a ping", got)
			}
			send(t, ws, "3")
		}
		send(t, ws, `42["echo","alive"]`)
		if got := read(t, ws); got != `42["echo","alive"]` {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("missed", func(t *testing.T) {
		ws, connect := connectWS(t, url)
		id := strings.TrimSuffix(strings.TrimPrefix(connect, `40{"sid":"`), `"}`)
		if got := read(t, ws); got != "2" {
			t.Fatalf("got %q, want a ping", got)
		}
		if err := h.ended(t, id); !errors.Is(err, ErrPingTimeout) {
			t.Fatalf("closed for %v", err)
		}
	})
	t.Run("unsolicited", func(t *testing.T) {
		ws, connect := connectWS(t, url)
		id := strings.TrimSuffix(strings.TrimPrefix(connect, `40{"sid":"`), `"}`)
		stop := make(chan struct{})
		go func() { // pongs nobody asked for, until the first ping shows up
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
				}
			}
		}()
		got := read(t, ws)
		close(stop)
		if got != "2" {
			t.Fatalf("got %q, want a ping", got)
		}
		if err := h.ended(t, id); !errors.Is(err, ErrPingTimeout) {
			t.Fatalf("closed for %v", err)
		}
	})
}

// TestClassicHeartbeat: an Engine.IO 3 client pings; one that goes silent is closed.
func TestClassicHeartbeat(t *testing.T) {
	_, h, url := serve(t, time.Second)
	ws, _, err := dial(t, url, 3, "")
	if err != nil {
		t.Fatal(err)
	}
	read(t, ws) // open
	read(t, ws) // 40
	c := <-h.sockets
	for range 5 { // pinging keeps it open past several silences' worth
		send(t, ws, "2")
		if got := read(t, ws); got != "3" {
			t.Fatalf("ping answered %q", got)
		}
		time.Sleep(40 * time.Millisecond)
	}
	send(t, ws, `42["echo","alive"]`)
	if got := read(t, ws); got != `42["echo","alive"]` {
		t.Fatalf("got %q", got)
	}
	if err := h.ended(t, c.ID()); !errors.Is(err, ErrPingTimeout) {
		t.Fatalf("closed for %v", err)
	}
}

// TestAbortedPoll: a client that hangs up its pending poll is gone, as when its tab closes.
func TestAbortedPoll(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 4)
	post(t, url, 4, sid, "40")
	c := <-h.sockets
	get(t, url, 4, sid) // the CONNECT answer
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"?EIO=4&transport=polling&sid="+sid, nil)
	go func() {
		for !pending(c) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the poll was answered")
	}
	if err := h.ended(t, c.ID()); !errors.Is(err, ErrTransportClose) {
		t.Fatalf("closed for %v", err)
	}
}

// TestPostTooLarge: a polling body over MaxPacketBytes is refused and closes the connection.
func TestPostTooLarge(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 4)
	post(t, url, 4, sid, "40")
	c := <-h.sockets
	if status := post(t, url, 4, sid, `42["m","`+strings.Repeat("a", MaxPacketBytes)+`"]`); status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d", status)
	}
	if err := h.ended(t, c.ID()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("closed for %v", err)
	}
}

// TestRefusedPackets: anything duet does not speak closes the connection, with the reason.
func TestRefusedPackets(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	tests := []struct {
		name  string
		frame func(*websocket.Conn) error
		want  error
	}{
		{"unknown engine type", text("9"), ErrBadPacket},
		{"engine upgrade outside a probe", text("5"), ErrBadPacket},
		{"client ping in EIO4", text("2"), ErrBadPacket},
		{"unknown socket type", text("49"), ErrBadPacket},
		{"socket CONNECT_ERROR from a client", text(`44{"message":"x"}`), ErrBadPacket},
		{"binary event", text(`451-["m",{"_placeholder":true,"num":0}]`), ErrBinary},
		{"binary ack", text(`461-1[{"_placeholder":true,"num":0}]`), ErrBinary},
		{"reserved event name", text(`42["disconnect"]`), ErrBadPacket},
		{"not JSON", text(`42["join"`), ErrBadPacket},
		{"invalid UTF-8", text("42[\"m\",\"\xff\"]"), ErrBadPacket},
		{"binary frame", func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.BinaryMessage, []byte{4, 1}) }, ErrBinary},
		{"oversized frame", text(`42["m","` + strings.Repeat("a", MaxPacketBytes) + `"]`), ErrTooLarge},
		{"empty frame", text(""), ErrBadPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, connect := connectWS(t, url)
			id := strings.TrimSuffix(strings.TrimPrefix(connect, `40{"sid":"`), `"}`)
			if err := tt.frame(ws); err != nil {
				t.Fatal(err)
			}
			if err := h.ended(t, id); !errors.Is(err, tt.want) {
				t.Fatalf("closed for %v, want %v", err, tt.want)
			}
			_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := ws.ReadMessage(); err == nil {
				t.Fatal("the websocket stayed open")
			}
		})
	}
}

func text(s string) func(*websocket.Conn) error {
	return func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.TextMessage, []byte(s)) }
}

// TestOtherNamespace: CONNECT to another namespace is refused, the connection stays.
func TestOtherNamespace(t *testing.T) {
	_, _, url := serve(t, time.Minute)
	ws, _ := connectWS(t, url)
	send(t, ws, "40/admin,")
	if got := read(t, ws); got != `44/admin,{"message":"Invalid namespace"}` {
		t.Fatalf("got %q", got)
	}
	send(t, ws, `42/admin,["echo","x"]`) // not connected there: ignored
	send(t, ws, `421["echo","acked"]`)   // an ack id is accepted and never answered
	if got := read(t, ws); got != `42["echo","acked"]` {
		t.Fatalf("got %q", got)
	}
}

// TestQueueBound: a polling client that never GETs is closed once MaxQueuedBytes wait for it.
func TestQueueBound(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	sid := pollHandshake(t, url, 4)
	post(t, url, 4, sid, "40")
	c := <-h.sockets
	big := json.RawMessage(`"` + strings.Repeat("x", 64<<10) + `"`)
	for range MaxQueuedBytes / len(big) * 2 {
		c.Emit("message", big)
	}
	if err := h.ended(t, c.ID()); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("closed for %v", err)
	}
}

// TestCleanupOnce races CONNECT, an event and the close of the websocket: Disconnect runs once,
// after Connect and the events, and every admitted connection is released.
func TestCleanupOnce(t *testing.T) {
	s, h, url := serve(t, time.Minute)
	for range 200 {
		ws, _, err := dial(t, url, 4, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte("40"))
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`42["join","r"]`))
		_ = ws.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.sockets)
		s.mu.Unlock()
		h.mu.Lock()
		done := n == 0 && h.admitted == 200 && h.released == 200
		h.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions left, %d admitted, %d released", n, h.admitted, h.released)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, calls := range h.calls {
		if calls[0] != "connect" || calls[len(calls)-1] != "disconnect" || strings.Count(strings.Join(calls, ","), "disconnect") != 1 {
			t.Errorf("socket %s: %v", id, calls)
		}
	}
}

// TestClient runs sio's own client against the server over TLS: CONNECT, an event both ways, the
// close seen by the server; and a refused upgrade comes back as its status.
func TestClient(t *testing.T) {
	host, h := serveTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := DialConfig{Host: host, TLS: &tls.Config{InsecureSkipVerify: true}}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := <-h.sockets
	if c.ID() != srv.ID() {
		t.Fatalf("client id %q, server's %q", c.ID(), srv.ID())
	}
	if n := cap(c.Events()); n != DefaultClientEvents {
		t.Errorf("events buffered: %d, want the default %d", n, DefaultClientEvents)
	}
	payload := json.RawMessage(`{"b":1, "a":1.50}`)
	if err := c.Emit("echo", payload); err != nil {
		t.Fatal(err)
	}
	e := <-c.Events()
	if e.Name != "echo" || len(e.Args) != 1 || string(e.Args[0]) != string(payload) {
		t.Fatalf("got %+v", e)
	}
	c.Close()
	if err := h.ended(t, srv.ID()); !errors.Is(err, ErrClientLeft) {
		t.Fatalf("server saw %v", err)
	}

	// A dial of the caller's own (duet check picks among the server's addresses), and a small event
	// buffer (the load generator's).
	custom := DialConfig{Host: "duet.example:443", TLS: &tls.Config{InsecureSkipVerify: true}, Dial: func(ctx context.Context) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", host)
	}, Events: 4}
	c, err = Dial(ctx, custom)
	if err != nil {
		t.Fatalf("a dial of its own: %v", err)
	}
	if n := cap(c.Events()); n != 4 {
		t.Errorf("events buffered: %d, want 4", n)
	}
	c.Close()
	notFound := httptest.NewTLSServer(http.NotFoundHandler())
	defer notFound.Close()
	var status *StatusError
	if _, err := Dial(ctx, DialConfig{Host: strings.TrimPrefix(notFound.URL, "https://"), TLS: &tls.Config{InsecureSkipVerify: true}}); !errors.As(err, &status) || status.Status != 404 {
		t.Fatalf("a 404: %v", err)
	}
}

// TestWebsocketSessionRefusesOthers: the sid of a session opened as a websocket authorizes nothing
// else, no poll, no POST, no second websocket; the websocket carries on.
func TestWebsocketSessionRefusesOthers(t *testing.T) {
	_, _, url := serve(t, time.Minute)
	ws, _, err := dial(t, url, 4, "")
	if err != nil {
		t.Fatal(err)
	}
	var open struct{ SID string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(read(t, ws), "0")), &open); err != nil || open.SID == "" {
		t.Fatalf("open packet: %v", err)
	}
	send(t, ws, "40")
	read(t, ws)
	req, _ := http.NewRequest("GET", url+"?EIO=4&transport=polling&sid="+open.SID, nil)
	if status, _ := do(t, req); status != 400 {
		t.Errorf("poll: %d", status)
	}
	if status := post(t, url, 4, open.SID, `42["echo","x"]`); status != 400 {
		t.Errorf("POST: %d", status)
	}
	if _, resp, err := dial(t, url, 4, open.SID); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("second websocket: %v %v", resp, err)
	}
	send(t, ws, `42["echo","still here"]`)
	if got := read(t, ws); got != `42["echo","still here"]` {
		t.Fatalf("echo %q", got)
	}
}

// TestPollingRefusedPackets: over polling too, a malformed payload or a packet duet does not speak
// closes the session.
func TestPollingRefusedPackets(t *testing.T) {
	_, h, url := serve(t, time.Minute)
	tests := []struct {
		name    string
		version int
		body    string
		status  int
		want    error
	}{
		{"unknown engine type", 4, "9", 200, ErrBadPacket},
		{"empty packet between separators", 4, "42[\"echo\",1]\x1e\x1e3", 400, ErrBadPacket},
		{"invalid event payload", 4, `42["echo",`, 200, ErrBadPacket},
		{"binary event", 4, `451-["m",{"_placeholder":true,"num":0}]`, 200, ErrBinary},
		{"EIO3 length past the body", 3, "9:42[]", 400, ErrBadPacket},
		{"EIO3 length not a number", 3, "x:6", 400, ErrBadPacket},
		{"EIO3 unknown socket type", 3, "2:49", 200, ErrBadPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid := pollHandshake(t, url, tt.version)
			if tt.version == 4 {
				post(t, url, 4, sid, "40")
			}
			c := <-h.sockets
			if status := post(t, url, tt.version, sid, tt.body); status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if err := h.ended(t, c.ID()); !errors.Is(err, tt.want) {
				t.Fatalf("closed for %v, want %v", err, tt.want)
			}
		})
	}
}
