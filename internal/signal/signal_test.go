package signal

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startServer runs the signaling server behind real TLS on a random loopback port. Every test
// client comes from loopback, so the per-IP limits are lifted unless a test sets its own.
func startServer(t *testing.T, tune ...func(*Config)) (*Server, string) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Limits = Limits{ConnRate: 1e6, EventRate: 1e6, MaxConnPerIP: 1e6}
	for _, f := range tune {
		f(&cfg)
	}
	s := New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.Handler())
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up mid-handshake are no news here
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s, ts.URL
}

type step map[string]any

// runPlan drives the server with the real socket.io client (version 4 or 2) through steps.
func runPlan(t *testing.T, url string, client int, transports []string, steps ...step) {
	t.Helper()
	plan, _ := json.Marshal(map[string]any{"url": url, "client": client, "transports": transports, "steps": steps})
	cmd := exec.Command("node", "testdata/plan.cjs")
	cmd.Stdin = bytes.NewReader(plan)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("socket.io-client %d over %v: %v\n%s", client, transports, err, stderr.String())
	}
}

func connect(name string) step     { return step{"connect": name} }
func closeClient(name string) step { return step{"close": name} }
func emit(name, event string, args ...any) step {
	return step{"emit": name, "event": event, "args": args}
}
func expect(name, event string, args ...any) step {
	return step{"expect": name, "event": event, "args": args}
}
func quiet(name string) step { return step{"quiet": name, "ms": 200} }

// Payloads are raw JSON so their key order is the classic one; the client checks it is kept.
var (
	offer     = json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`)
	answer    = json.RawMessage(`{"type":"answer","sdp":"v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}`)
	candidate = json.RawMessage(`{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}`)
)

// refused is the error event body expected for event and code, with any reason.
func refused(event, code string) json.RawMessage {
	return json.RawMessage(`{"event":"` + event + `","code":"` + code + `","reason":"*"}`)
}

// callFlow is the whole life of a room: join, pair, relay, full, leave, disconnect, rejoin.
func callFlow(room1 string) []step {
	return []step{
		connect("a"), connect("b"), connect("c"),
		emit("a", "join", room1),
		expect("a", "joined", room1, "$a"),
		emit("b", "join", room1),
		expect("b", "joined", room1, "$b"),
		expect("a", "other_joined", room1, "$b"),
		expect("a", "otherjoin", room1, "$b"),
		emit("a", "message", room1, offer),
		expect("b", "message", room1, offer),
		emit("b", "message", room1, answer),
		expect("a", "message", room1, answer),
		emit("a", "message", room1, candidate),
		expect("b", "message", room1, candidate),
		emit("c", "join", room1),
		expect("c", "full", room1, "$c"),
		emit("c", "message", room1, offer),
		expect("c", "error", refused("message", "not_in_room")),
		quiet("a"), quiet("b"),
		emit("a", "leave", room1),
		expect("a", "leaved", room1, "$a"),
		expect("b", "bye", room1, "$a"),
		emit("c", "join", room1),
		expect("c", "joined", room1, "$c"),
		expect("b", "other_joined", room1, "$c"),
		expect("b", "otherjoin", room1, "$c"),
		closeClient("c"),
		expect("b", "bye", room1, "$c"),
		emit("a", "join", room1),
		expect("a", "joined", room1, "$a"),
		expect("b", "other_joined", room1, "$a"),
		expect("b", "otherjoin", room1, "$a"),
	}
}

func TestProtocol(t *testing.T) {
	_, url := startServer(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}, {"polling", "websocket"}} {
		t.Run(strings.Join(transports, "+"), func(t *testing.T) {
			runPlan(t, url, 4, transports, callFlow("room-"+strings.Join(transports, "-"))...)
		})
	}
}

// TestClassicClient checks the socket.io-client 2.x pages of the classic demos still work (Engine.IO 3).
func TestClassicClient(t *testing.T) {
	_, url := startServer(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}} {
		t.Run(strings.Join(transports, "+"), func(t *testing.T) {
			// A 2.x client's own socket.id is the Engine.IO id, not the server's socket id: match any.
			runPlan(t, url, 2, transports,
				connect("a"), connect("b"),
				emit("a", "join", "classic"),
				expect("a", "joined", "classic", "*"),
				emit("b", "join", "classic"),
				expect("b", "joined", "classic", "*"),
				expect("a", "other_joined", "classic", "*"),
				expect("a", "otherjoin", "classic", "*"),
				emit("a", "message", "classic", offer),
				expect("b", "message", "classic", offer),
				emit("b", "message", "classic", candidate),
				expect("a", "message", "classic", candidate),
				closeClient("b"),
				expect("a", "bye", "classic", "*"),
			)
		})
	}
}

func TestRefusals(t *testing.T) {
	_, url := startServer(t)
	big := json.RawMessage(`{"type":"offer","sdp":"` + strings.Repeat("a", MaxPayload) + `"}`)
	tests := []struct {
		name  string
		event string
		args  []any
		code  string
	}{
		{"join without a room", "join", nil, "invalid_room"},
		{"join an empty name", "join", []any{""}, "invalid_room"},
		{"join a name too long", "join", []any{strings.Repeat("r", MaxRoomLen+1)}, "invalid_room"},
		{"join a name with a slash", "join", []any{"a/b"}, "invalid_room"},
		{"join a name with a space", "join", []any{"a b"}, "invalid_room"},
		{"join a number", "join", []any{42}, "invalid_room"},
		{"join null", "join", []any{nil}, "invalid_room"},
		{"join an object", "join", []any{map[string]any{"room": "x"}}, "invalid_room"},
		{"leave a room not joined", "leave", []any{"elsewhere"}, "not_in_room"},
		{"message a foreign room", "message", []any{"elsewhere", offer}, "not_in_room"},
		{"message null", "message", []any{"mine", nil}, "invalid_payload"},
		{"message a string", "message", []any{"mine", "hello"}, "invalid_payload"},
		{"message an array", "message", []any{"mine", []any{1, 2}}, "invalid_payload"},
		{"message without payload", "message", []any{"mine"}, "invalid_payload"},
		{"message too large", "message", []any{"mine", big}, "payload_too_large"},
		{"join a second room", "join", []any{"other"}, "in_other_room"},
		{"join the same room twice", "join", []any{"mine"}, "already_joined"},
		{"an unknown event", "shout", []any{"mine"}, "unknown_event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			room := "mine"
			runPlan(t, url, 4, []string{"websocket"},
				connect("a"), connect("b"),
				emit("a", "join", room), expect("a", "joined", room, "$a"),
				emit("b", "join", room), expect("b", "joined", room, "$b"),
				expect("a", "other_joined", room, "$b"), expect("a", "otherjoin", room, "$b"),
				emit("a", tt.event, tt.args...),
				expect("a", "error", refused(tt.event, tt.code)),
				// The room is untouched: a and b still talk.
				emit("a", "message", room, offer), expect("b", "message", room, offer),
				quiet("b"),
			)
		})
	}
}

func TestSimultaneousJoins(t *testing.T) {
	s, url := startServer(t)
	for i := range 5 {
		room := "race" + strconv.Itoa(i)
		runPlan(t, url, 4, []string{"websocket"},
			connect("a"), connect("b"), connect("c"),
			emit("a", "join", room), emit("b", "join", room), emit("c", "join", room),
			step{"collect": []string{"a", "b", "c"}, "counts": map[string]int{"joined": 2, "full": 1}},
		)
	}
	waitFor(t, "every room to empty", func() bool { return s.Stats().Rooms == [3]int{} })
}

// TestConcurrentRooms runs 200 rooms × 2 clients exchanging 50 messages each at once.
func TestConcurrentRooms(t *testing.T) {
	s, url := startServer(t)
	base := runtime.NumGoroutine()
	out, err := exec.Command("node", "testdata/load.cjs", url, "200", "50").CombinedOutput()
	if err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	if got := s.Stats().Relayed; got != 200*2*50 {
		t.Errorf("relayed %d messages, want %d", got, 200*2*50)
	}
	waitFor(t, "every room to empty", func() bool { return s.Stats().Rooms == [3]int{} })
	waitFor(t, "connection goroutines to end", func() bool { return runtime.NumGoroutine() <= base+2 })
}

// waitFor polls cond for up to 10 s; the server tears connections down asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (goroutines: %d)", what, runtime.NumGoroutine())
		}
	}
}
