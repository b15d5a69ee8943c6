package sio

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBufferedRecords: messages that reach the server together, several TLS records in one TCP
// segment or one message larger than the read buffer trickled in pieces, are all handled; a reader
// that went back to the poller with a record still in TLS's buffer would wait for bytes that never
// come.
func TestBufferedRecords(t *testing.T) {
	host, h := serveTLS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var hc *holdConn
	c, err := Dial(ctx, DialConfig{Host: host, TLS: &tls.Config{InsecureSkipVerify: true}, Dial: func(ctx context.Context) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
		hc = &holdConn{Conn: conn}
		return hc, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-h.sockets
	tests := []struct {
		name     string
		messages []string
		send     func() error
	}{
		{"records in one segment", []string{"a", "b", "c", "d"}, hc.release},
		{"a message over the read buffer in pieces", []string{strings.Repeat("x", 3*pooledReadBuffer+17)}, func() error { return hc.trickle(100, time.Millisecond) }},
		{"small after large in one segment", []string{strings.Repeat("y", 20<<10), "z"}, hc.release},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hc.hold()
			for _, m := range tt.messages {
				if err := c.Emit("echo", json.RawMessage(`"`+m+`"`)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.messages {
				select {
				case e := <-c.Events():
					if len(e.Args) != 1 || string(e.Args[0]) != `"`+want+`"` {
						t.Fatalf("echo of %d bytes came back as %.40s", len(want), e.Args)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("no echo of %d bytes", len(want))
				}
			}
		})
	}
}

// serveTLS runs a Server behind TLS, as duet does, and returns its host:port.
func serveTLS(t *testing.T) (string, *recorder) {
	t.Helper()
	h := newRecorder()
	s, err := New(Config{PingInterval: time.Minute, PingTimeout: time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, h)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", s)
	ts := httptest.NewUnstartedServer(mux)
	ts.StartTLS()
	t.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return strings.TrimPrefix(ts.URL, "https://"), h
}

// holdConn keeps what is written while held, then sends it at once or in pieces.
type holdConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	held    []byte
}

func (h *holdConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holding {
		h.held = append(h.held, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *holdConn) hold() {
	h.mu.Lock()
	h.holding = true
	h.mu.Unlock()
}

// release sends everything held in one write.
func (h *holdConn) release() error { return h.trickle(1<<30, 0) }

// trickle sends everything held in pieces of n bytes, pause apart.
func (h *holdConn) trickle(n int, pause time.Duration) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding = false
	for len(h.held) > 0 {
		k := min(n, len(h.held))
		if _, err := h.Conn.Write(h.held[:k]); err != nil {
			return fmt.Errorf("writing %d held bytes: %w", len(h.held), err)
		}
		h.held = h.held[k:]
		time.Sleep(pause)
	}
	return nil
}
