package signal

import (
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

	"duet/internal/room"
	"duet/internal/siotest"
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
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
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

// Payloads are raw JSON so their key order is the classic one; the client checks it is kept.
var (
	offer     = json.RawMessage(`{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}`)
	answer    = json.RawMessage(`{"type":"answer","sdp":"v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n"}`)
	candidate = json.RawMessage(`{"type":"candidate","label":0,"id":"0","candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host"}`)
)

// callFlow is the whole life of a room: join, pair, relay, full, leave, disconnect, rejoin.
func callFlow(room1 string) []siotest.Step {
	return []siotest.Step{
		siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("c"),
		siotest.Emit("a", "join", room1),
		siotest.Expect("a", "joined", room1, "$a"),
		siotest.Emit("b", "join", room1),
		siotest.Expect("b", "joined", room1, "$b"),
		siotest.Expect("a", "other_joined", room1, "$b"),
		siotest.Expect("a", "otherjoin", room1, "$b"),
		siotest.Emit("a", "message", room1, offer),
		siotest.Expect("b", "message", room1, offer),
		siotest.Emit("b", "message", room1, answer),
		siotest.Expect("a", "message", room1, answer),
		siotest.Emit("a", "message", room1, candidate),
		siotest.Expect("b", "message", room1, candidate),
		siotest.Emit("c", "join", room1),
		siotest.Expect("c", "full", room1, "$c"),
		siotest.Emit("c", "message", room1, offer),
		siotest.Expect("c", "error", siotest.Refused("message", "not_in_room")),
		siotest.Quiet("a"), siotest.Quiet("b"),
		siotest.Emit("a", "leave", room1),
		siotest.Expect("a", "leaved", room1, "$a"),
		siotest.Expect("b", "bye", room1, "$a"),
		siotest.Emit("c", "join", room1),
		siotest.Expect("c", "joined", room1, "$c"),
		siotest.Expect("b", "other_joined", room1, "$c"),
		siotest.Expect("b", "otherjoin", room1, "$c"),
		siotest.Close("c"),
		siotest.Expect("b", "bye", room1, "$c"),
		siotest.Emit("a", "join", room1),
		siotest.Expect("a", "joined", room1, "$a"),
		siotest.Expect("b", "other_joined", room1, "$a"),
		siotest.Expect("b", "otherjoin", room1, "$a"),
	}
}

func TestProtocol(t *testing.T) {
	_, url := startServer(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}, {"polling", "websocket"}} {
		t.Run(strings.Join(transports, "+"), func(t *testing.T) {
			siotest.Run(t, url, 4, transports, callFlow("room-"+strings.Join(transports, "-"))...)
		})
	}
}

// TestClassicClient checks the socket.io-client 2.x pages of the classic demos still work (Engine.IO 3).
func TestClassicClient(t *testing.T) {
	_, url := startServer(t)
	for _, transports := range [][]string{{"websocket"}, {"polling"}, {"polling", "websocket"}} {
		t.Run(strings.Join(transports, "+"), func(t *testing.T) {
			classic := "classic-" + strings.Join(transports, "-")
			// A 2.x client's own socket.id is the Engine.IO id, not the server's socket id: match any.
			siotest.Run(t, url, 2, transports,
				siotest.Connect("a"), siotest.Connect("b"),
				siotest.Emit("a", "join", classic),
				siotest.Expect("a", "joined", classic, "*"),
				siotest.Emit("b", "join", classic),
				siotest.Expect("b", "joined", classic, "*"),
				siotest.Expect("a", "other_joined", classic, "*"),
				siotest.Expect("a", "otherjoin", classic, "*"),
				siotest.Emit("a", "message", classic, offer),
				siotest.Expect("b", "message", classic, offer),
				siotest.Emit("b", "message", classic, candidate),
				siotest.Expect("a", "message", classic, candidate),
				siotest.Close("b"),
				siotest.Expect("a", "bye", classic, "*"),
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
		{"join a name too long", "join", []any{strings.Repeat("r", room.MaxNameLen+1)}, "invalid_room"},
		{"join a name with a slash", "join", []any{"a/b"}, "invalid_room"},
		{"join a name with a space", "join", []any{"a b"}, "invalid_room"},
		{"join a number", "join", []any{42}, "invalid_room"},
		{"join null", "join", []any{nil}, "invalid_room"},
		{"join an object", "join", []any{map[string]any{"room": "x"}}, "invalid_room"},
		{"join with a string for options", "join", []any{"mine", "secret"}, "invalid_options"},
		{"join with an array for options", "join", []any{"mine", []any{"secret"}}, "invalid_options"},
		{"join with a numeric password", "join", []any{"mine", map[string]any{"password": 1234}}, "invalid_options"},
		{"join with a password too long", "join", []any{"mine", map[string]any{"password": strings.Repeat("p", 257)}}, "invalid_options"},
		{"join with options too large", "join", []any{"mine", map[string]any{"x": strings.Repeat("p", 5000)}}, "payload_too_large"},
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
		{"join with a resume key not a string", "join", []any{"mine", map[string]any{"resume": 7}}, "invalid_options"},
		{"join with a resume key too long", "join", []any{"mine", map[string]any{"resume": strings.Repeat("k", MaxResumeKey+1)}}, "invalid_options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			room := "mine"
			siotest.Run(t, url, 4, []string{"websocket"},
				siotest.Connect("a"), siotest.Connect("b"),
				siotest.Emit("a", "join", room), siotest.Expect("a", "joined", room, "$a"),
				siotest.Emit("b", "join", room), siotest.Expect("b", "joined", room, "$b"),
				siotest.Expect("a", "other_joined", room, "$b"), siotest.Expect("a", "otherjoin", room, "$b"),
				siotest.Emit("a", tt.event, tt.args...),
				siotest.Expect("a", "error", siotest.Refused(tt.event, tt.code)),
				// The room is untouched: a and b still talk.
				siotest.Emit("a", "message", room, offer), siotest.Expect("b", "message", room, offer),
				siotest.Quiet("b"),
			)
		})
	}
}

func TestSimultaneousJoins(t *testing.T) {
	s, url := startServer(t)
	for i := range 5 {
		room := "race" + strconv.Itoa(i)
		siotest.Run(t, url, 4, []string{"websocket"},
			siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("c"),
			siotest.Emit("a", "join", room), siotest.Emit("b", "join", room), siotest.Emit("c", "join", room),
			siotest.Step{"collect": []string{"a", "b", "c"}, "counts": map[string]int{"joined": 2, "full": 1}},
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

// TestResume: a page whose socket died re-joins on a new socket with the key its joined event gave
// it, and takes its own seat back at once: the old socket is closed, the peer hears nothing and
// keeps talking to the same person. A used or unknown key is an ordinary join.
func TestResume(t *testing.T) {
	_, url := startServer(t)
	offer2 := json.RawMessage(`{"type":"offer","sdp":"v=1"}`)
	siotest.Run(t, url, 4, []string{"websocket"},
		siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "r", map[string]any{}), siotest.Expect("a", "joined", "r", "$a", map[string]any{"resume": "=ka"}),
		siotest.Emit("b", "join", "r"), siotest.Expect("b", "joined", "r", "$b"),
		siotest.Expect("a", "other_joined", "r", "$b"), siotest.Expect("a", "otherjoin", "r", "$b"),
		// a's network changed: its page comes back on a new socket before the server noticed.
		siotest.Connect("a2"),
		siotest.Emit("a2", "join", "r", map[string]any{"resume": "$ka", "password": "ignored"}),
		siotest.Expect("a2", "joined", "r", "$a2", map[string]any{"resume": "=ka2", "resumed": true}),
		siotest.Expect("a", "disconnect", "*"),
		siotest.Quiet("b"),
		siotest.Emit("b", "message", "r", offer), siotest.Expect("a2", "message", "r", offer),
		siotest.Emit("a2", "message", "r", offer2), siotest.Expect("b", "message", "r", offer2),
		// The old key is used up: its holder joins as anyone would, and the room is full.
		siotest.Connect("c"),
		siotest.Emit("c", "join", "r", map[string]any{"resume": "$ka"}), siotest.Expect("c", "full", "r", "$c"),
		// Once the seat is left, its key takes nothing back either.
		siotest.Emit("a2", "leave", "r"), siotest.Expect("a2", "leaved", "r", "$a2"), siotest.Expect("b", "bye", "r", "$a2"),
		siotest.Emit("c", "join", "r", map[string]any{"resume": "$ka2"}), siotest.Expect("c", "joined", "r", "$c", map[string]any{"resume": "*"}),
		siotest.Expect("b", "other_joined", "r", "$c"), siotest.Expect("b", "otherjoin", "r", "$c"),
	)
}
