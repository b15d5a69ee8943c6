package acceptlog

import (
	"errors"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"duet/internal/duettest"
)

func TestAllow(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	r := New(slog.New(slog.DiscardHandler), "test")
	steps := []struct {
		at   time.Duration
		ok   bool
		held int
	}{
		{0, true, 0},
		{100 * time.Millisecond, false, 0},
		{900 * time.Millisecond, false, 0},
		{time.Second, true, 2},
		{1500 * time.Millisecond, false, 0},
		{5 * time.Second, true, 1},
		{6 * time.Second, true, 0},
	}
	for i, st := range steps {
		held, ok := r.allow(t0.Add(st.at))
		if ok != st.ok || held != st.held {
			t.Errorf("step %d: allow = %d, %v; want %d, %v", i, held, ok, st.held, st.ok)
		}
	}
}

func TestListener(t *testing.T) {
	var logs strings.Builder
	real, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := New(slog.New(slog.NewTextHandler(&logs, nil)), "https")
	r.now = func() time.Time { return time.Unix(1700000000, 0) } // both failures within the second
	l := Listener{Listener: &duettest.FailingListener{Listener: real, N: 2}, R: r}
	for range 2 {
		if _, err := l.Accept(); !errors.Is(err, syscall.EMFILE) {
			t.Fatalf("Accept: %v, want the EMFILE passed through", err)
		}
	}
	_ = l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, "too many open files") || !strings.Contains(out, "listener=https") {
		t.Errorf("want one warning naming the listener and the error (the second within the second held back), a closed listener none:\n%s", out)
	}
}
