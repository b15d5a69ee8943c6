package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var secret = []byte("s3cret")

// receiver is a real HTTP endpoint that checks each signature and records the events; fail says how
// many requests to answer 500 first.
type receiver struct {
	mu     sync.Mutex
	events []Event
	hits   int
	fail   int
	hold   chan struct{} // when set, every request waits for it
	badSig int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.hold != nil {
		<-r.hold
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hits++
	if err := Verify(secret, body, req.Header.Get(SignatureHeader), time.Now(), time.Minute); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.hits <= r.fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.events = append(r.events, e)
}

func (r *receiver) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func start(t *testing.T, cfg Config) *Sender {
	t.Helper()
	cfg.Secret = secret
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeWithin(s *Sender, d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s.Close(ctx)
}

func TestDeliversInOrderSignedAndRetries(t *testing.T) {
	rcv := &receiver{fail: 2}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := start(t, Config{URL: srv.URL, Backoff: 10 * time.Millisecond})
	want := []Type{RoomStarted, ParticipantJoined, ParticipantJoined, ParticipantLeft, ParticipantLeft, RoomFinished}
	for _, typ := range want {
		if !s.Send(Event{Type: typ, Room: "r", Time: time.Now()}) {
			t.Fatal("queue refused an event")
		}
	}
	closeWithin(s, 10*time.Second)
	got := rcv.got()
	if len(got) != len(want) {
		t.Fatalf("received %d events, want %d", len(got), len(want))
	}
	ids := map[string]bool{}
	for i, e := range got {
		if e.Type != want[i] || e.Room != "r" || e.ID == "" || ids[e.ID] {
			t.Fatalf("event %d: %+v (want type %s, a fresh id)", i, e, want[i])
		}
		ids[e.ID] = true
	}
	if st := s.Stats(); st.Delivered != uint64(len(want)) || st.Failed != 0 || rcv.hits != len(want)+2 || rcv.badSig != 0 {
		t.Fatalf("stats %+v, %d requests, %d bad signatures", st, rcv.hits, rcv.badSig)
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	rcv := &receiver{fail: 1 << 30}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	s := start(t, Config{URL: srv.URL, Attempts: 3, Backoff: time.Millisecond})
	s.Send(Event{Type: RoomStarted, Room: "r"})
	closeWithin(s, 10*time.Second)
	if st := s.Stats(); st.Failed != 1 || st.Delivered != 0 || rcv.hits != 3 {
		t.Fatalf("stats %+v after %d requests, want 1 failed after 3", st, rcv.hits)
	}
}

// A receiver that never answers must not make Send wait: the queue fills, then events are dropped.
func TestStuckReceiverNeverBlocksSend(t *testing.T) {
	rcv := &receiver{hold: make(chan struct{})}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	defer close(rcv.hold)
	s := start(t, Config{URL: srv.URL, Queue: 4, Timeout: time.Minute})
	accepted := 0
	for range 20 {
		if s.Send(Event{Type: ParticipantJoined, Room: "r"}) {
			accepted++
		}
	}
	// One event is in flight, four wait; the rest were dropped.
	if accepted > 5 || s.Stats().Dropped != uint64(20-accepted) {
		t.Fatalf("accepted %d of 20, stats %+v", accepted, s.Stats())
	}
	closeWithin(s, 50*time.Millisecond) // gives up on the stuck request and the queue
}

func TestDeadEndpointCloses(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	s := start(t, Config{URL: url, Backoff: time.Hour})
	s.Send(Event{Type: RoomStarted, Room: "r"})
	closeWithin(s, 100*time.Millisecond) // cuts the hour-long back-off short
	if st := s.Stats(); st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"type":"room_started"}`)
	now := time.Unix(1_800_000_000, 0)
	good := Sign(secret, body, now)
	for _, tc := range []struct {
		what   string
		secret []byte
		body   string
		header string
		at     time.Time
		want   error
	}{
		{"valid", secret, string(body), good, now, nil},
		{"within tolerance", secret, string(body), good, now.Add(4 * time.Minute), nil},
		{"replayed later", secret, string(body), good, now.Add(6 * time.Minute), ErrStale},
		{"from the future", secret, string(body), good, now.Add(-6 * time.Minute), ErrStale},
		{"other secret", []byte("x"), string(body), good, now, ErrBadSignature},
		{"body changed", secret, `{"type":"room_finished"}`, good, now, ErrBadSignature},
		{"no header", secret, string(body), "", now, ErrBadSignature},
		{"no signature", secret, string(body), "t=1800000000", now, ErrBadSignature},
		{"not hex", secret, string(body), "t=1800000000,v1=zz", now, ErrBadSignature},
	} {
		if err := Verify(tc.secret, []byte(tc.body), tc.header, tc.at, 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{URL: "", Secret: secret},
		{URL: "ftp://x", Secret: secret},
		{URL: "https://", Secret: secret},
		{URL: "https://x/hook"},
		{URL: "https://x/hook", Secret: secret, Queue: -1},
	} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

// A disconnect handled during shutdown sends after Close: the event is dropped, the process lives.
func TestSendAfterCloseDrops(t *testing.T) {
	srv := httptest.NewServer(&receiver{})
	defer srv.Close()
	s := start(t, Config{URL: srv.URL})
	closeWithin(s, time.Second)
	closeWithin(s, time.Second) // a second Close is harmless too
	if s.Send(Event{Type: ParticipantLeft, Room: "r"}) {
		t.Fatal("Send after Close accepted the event")
	}
	if st := s.Stats(); st.Dropped != 1 {
		t.Fatalf("stats %+v, want one dropped", st)
	}
}
