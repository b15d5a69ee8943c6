package redishub_test

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"duet/internal/duettest"
	"duet/internal/redishub"
	"duet/internal/signal"
	"duet/internal/siotest"
	"duet/internal/webhook"
	"duet/internal/webhook/webhooktest"
)

// startNode runs a signaling server on the Redis hub at redisURL, reporting to hook when set.
func startNode(t *testing.T, redisURL, hook string) string {
	t.Helper()
	h, err := redishub.New(testConfig(redisURL))
	if err != nil {
		t.Fatal(err)
	}
	cfg := signal.DefaultConfig()
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Limits = signal.Limits{ConnRate: 1e6, EventRate: 1e6, MaxConnPerIP: 1e6}
	cfg.Hub = h.Open
	if hook != "" {
		w, err := webhook.New(webhook.Config{URL: hook, Secret: []byte("whsec"), Backoff: 10 * time.Millisecond, Logger: cfg.Logger})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Webhooks = w
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			w.Close(ctx)
		})
	}
	s, err := signal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s.Handler())
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return ts.URL
}

type opts = map[string]any

// TestPasswordsAcrossNodes: the password set on one node holds on the other, a stranger learns
// nothing from the full protected room, guessing is limited and the empty room forgets its lock.
func TestPasswordsAcrossNodes(t *testing.T) {
	r := duettest.StartRedis(t)
	a, b := startNode(t, r.URL(), ""), startNode(t, r.URL(), "")
	steps := []siotest.Step{siotest.Connect("a"), siotest.ConnectTo("b", b), siotest.ConnectTo("c", b),
		siotest.Emit("a", "join", "vault", opts{"password": "open sesame"}),
		siotest.Expect("a", "joined", "vault", "$a", opts{"resume": "*"}),
		siotest.Emit("b", "join", "vault"),
		siotest.Expect("b", "error", siotest.Refused("join", "password_required")),
		siotest.Emit("b", "join", "vault", opts{"password": "open says me"}),
		siotest.Expect("b", "error", siotest.Refused("join", "wrong_password")),
		siotest.Emit("b", "join", "vault", opts{"password": "open sesame"}),
		siotest.Expect("b", "joined", "vault", "$b", opts{"resume": "*"}),
		siotest.Expect("a", "other_joined", "vault", "$b"), siotest.Expect("a", "otherjoin", "vault", "$b"),
		siotest.Emit("c", "join", "vault"),
		siotest.Expect("c", "error", siotest.Refused("join", "password_required")),
		siotest.Emit("c", "join", "vault", opts{"password": "open sesame"}),
		siotest.Expect("c", "full", "vault", "$c"),
	}
	// Node b has checked three passwords for the room; its default burst is ten.
	for range signal.DefaultGuessBurst - 3 {
		steps = append(steps, siotest.Emit("c", "join", "vault", opts{"password": "guess"}),
			siotest.Expect("c", "error", siotest.Refused("join", "wrong_password")))
	}
	steps = append(steps, siotest.Emit("c", "join", "vault", opts{"password": "guess"}),
		siotest.Expect("c", "error", siotest.Refused("join", "rate_limited")),
		siotest.Emit("a", "leave", "vault"), siotest.Expect("a", "leaved", "vault", "$a"),
		siotest.Expect("b", "bye", "vault", "$a"),
		siotest.Emit("b", "leave", "vault"), siotest.Expect("b", "leaved", "vault", "$b"),
		siotest.Emit("a", "join", "vault"), siotest.Expect("a", "joined", "vault", "$a"))
	siotest.Run(t, a, 4, []string{"websocket"}, steps...)
}

// TestWebhooksAcrossNodes: both nodes report to one receiver; each change arrives once, signed, and
// room_finished's duration comes from the start Redis recorded, though another node saw it.
func TestWebhooksAcrossNodes(t *testing.T) {
	r := duettest.StartRedis(t)
	rx := webhooktest.Start(t, []byte("whsec"))
	a, b := startNode(t, r.URL(), rx.URL), startNode(t, r.URL(), rx.URL)
	siotest.Run(t, a, 4, []string{"websocket"}, siotest.Connect("a"), siotest.ConnectTo("b", b),
		siotest.Emit("a", "join", "hooked"), siotest.Expect("a", "joined", "hooked", "$a"), siotest.Quiet("a"),
		siotest.Emit("b", "join", "hooked"), siotest.Expect("b", "joined", "hooked", "$b"),
		siotest.Expect("a", "other_joined", "hooked", "$b"), siotest.Expect("a", "otherjoin", "hooked", "$b"),
		siotest.Quiet("a"), // the nodes' senders are apart: let each event arrive before the next change
		siotest.Emit("a", "leave", "hooked"), siotest.Expect("a", "leaved", "hooked", "$a"),
		siotest.Expect("b", "bye", "hooked", "$a"), siotest.Quiet("b"),
		siotest.Close("b"))
	var got []webhook.Event
	for range 6 {
		got = append(got, rx.Next(t))
	}
	rx.Quiet(t, 500*time.Millisecond)
	// Each node sends in order; across nodes, the events' times say the order.
	slices.SortStableFunc(got, func(x, y webhook.Event) int { return x.Time.Compare(y.Time) })
	webhooktest.CheckRoomLife(t, "hooked", got)
}
