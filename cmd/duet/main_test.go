package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"duet/internal/siotest"
)

// logBuffer collects the server's log lines for the test to read while it runs.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listening = regexp.MustCompile(`msg="https listening" addr=(\S+)`)

// startDuet runs the server in this process with args; stop ends it as a signal would and returns
// what run returned.
func startDuet(t *testing.T, args ...string) (url string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), nil, logs) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listening.FindStringSubmatch(logs.String()); m != nil {
			url = "https://" + m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("duet stopped: %v\n%s", err, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("duet did not start:\n%s", logs)
		}
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = errors.New("duet did not stop within 30 s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return url, stop
}

// freePort returns a loopback port free for both UDP and TCP, for the TURN listener.
func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return strconv.Itoa(port)
		}
	}
	t.Fatal("no free port")
	return ""
}

var insecure = &http.Client{
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	Timeout:   10 * time.Second,
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := insecure.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

// metric reads one sample from a /metrics page, e.g. `duet_rooms{occupancy="2"}`.
func metric(t *testing.T, page, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in metrics", name)
	return 0
}

func TestHealthAndMetricsMove(t *testing.T) {
	url, _ := startDuet(t, "--turn-listen", "127.0.0.1:"+freePort(t), "--conn-rate", "1000")
	var health map[string]string
	if err := json.Unmarshal([]byte(get(t, url+"/healthz")), &health); err != nil || health["status"] != "ok" || health["turn"] != "ok" {
		t.Fatalf("healthz: %v %v", health, err)
	}
	before := get(t, url+"/metrics")
	offer := json.RawMessage(`{"type":"offer","sdp":"v=0"}`)
	siotest.Run(t, url, 4, []string{"websocket"},
		siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("c"),
		siotest.Emit("a", "join", "m"), siotest.Expect("a", "joined", "m", "$a"),
		siotest.Emit("b", "join", "m"), siotest.Expect("b", "joined", "m", "$b"),
		siotest.Emit("c", "join", "m"), siotest.Expect("c", "full", "m", "$c"),
		siotest.Emit("a", "message", "m", offer), siotest.Expect("b", "message", "m", offer),
		siotest.Emit("c", "leave", "m"), siotest.Expect("c", "error", siotest.Refused("leave", "not_in_room")),
		siotest.Emit("a", "leave", "m"), siotest.Expect("b", "bye", "m", "$a"),
	)
	after := get(t, url+"/metrics")
	for name, delta := range map[string]float64{
		"duet_joins_total": 2, "duet_fulls_total": 1, "duet_messages_relayed_total": 1,
		"duet_byes_total": 1, "duet_events_refused_total": 1,
	} {
		if got := metric(t, after, name) - metric(t, before, name); got != delta {
			t.Errorf("%s moved by %v, want %v", name, got, delta)
		}
	}
	for _, name := range []string{"duet_sockets_connected", `duet_rooms{occupancy="1"}`, "duet_turn_allocations", "go_goroutines"} {
		metric(t, after, name)
	}
}
