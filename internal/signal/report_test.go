package signal

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"duet/internal/sio"
	"duet/internal/siotest"
	"duet/internal/webhook"
	"duet/internal/webhook/webhooktest"
)

func withWebhook(t *testing.T, target string) func(*Config) {
	s, err := webhook.New(webhook.Config{URL: target, Secret: []byte("whsec"), Backoff: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: the sender closes after the server that feeds it.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return func(c *Config) { c.Webhooks = s }
}

// TestWebhooks: a room's life reaches the receiver signed, once per change and in order.
func TestWebhooks(t *testing.T) {
	rx := webhooktest.Start(t, []byte("whsec"))
	_, u := startServer(t, withWebhook(t, rx.URL))
	siotest.Run(t, u, 4, []string{"websocket"}, siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "hooked"), siotest.Expect("a", "joined", "hooked", "$a"),
		siotest.Emit("b", "join", "hooked"), siotest.Expect("b", "joined", "hooked", "$b"),
		siotest.Expect("a", "other_joined", "hooked", "$b"), siotest.Expect("a", "otherjoin", "hooked", "$b"),
		siotest.Emit("a", "leave", "hooked"), siotest.Expect("a", "leaved", "hooked", "$a"),
		siotest.Expect("b", "bye", "hooked", "$a"),
		siotest.Close("b"))
	webhooktest.CheckRoomLife(t, "hooked", collect(t, rx, 6))
	rx.Quiet(t, 300*time.Millisecond)
}

func collect(t *testing.T, rx *webhooktest.Receiver, n int) []webhook.Event {
	var got []webhook.Event
	for range n {
		got = append(got, rx.Next(t))
	}
	return got
}

// TestDeadWebhookDoesNotSlowJoins: with the endpoint accepting connections and never answering,
// joins take about as long as with a live one (the sender works apart from signaling).
func TestDeadWebhookDoesNotSlowJoins(t *testing.T) {
	rx := webhooktest.Start(t, []byte("whsec"))
	go func() { // drain the live receiver
		for range rx.Events {
		}
	}()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dead.Close() })
	go func() {
		for {
			c, err := dead.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // held open, never answered
		}
	}()
	_, liveURL := startServer(t, withWebhook(t, rx.URL))
	_, deadURL := startServer(t, withWebhook(t, "http://"+dead.Addr().String()+"/hook"))
	live, slow := joinLatency(t, liveURL), joinLatency(t, deadURL)
	t.Logf("median join with the webhook up: %v, with it dead: %v", live, slow)
	if slow > 5*live+50*time.Millisecond {
		t.Fatalf("a dead webhook endpoint slows joins: median %v, against %v with it up", slow, live)
	}
}

// joinLatency is the median time from join to joined over 30 rooms, each joined and left.
func joinLatency(t *testing.T, server string) time.Duration {
	u, _ := url.Parse(server)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := sio.Dial(ctx, sio.DialConfig{Host: u.Host, TLS: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var took []time.Duration
	for i := range 30 {
		name := "latency" + strconv.Itoa(i)
		start := time.Now()
		if err := c.Emit("join", name); err != nil {
			t.Fatal(err)
		}
		await(t, c, "joined")
		took = append(took, time.Since(start))
		if err := c.Emit("leave", name); err != nil {
			t.Fatal(err)
		}
		await(t, c, "leaved")
	}
	slices.Sort(took)
	return took[len(took)/2]
}

func await(t *testing.T, c *sio.Client, event string) []json.RawMessage {
	t.Helper()
	select {
	case e := <-c.Events():
		if e.Name != event {
			t.Fatalf("got %s %s, want %s", e.Name, e.Args, event)
		}
		return e.Args
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", event)
		return nil
	}
}
