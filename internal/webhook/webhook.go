// Package webhook tells an application about calls: it POSTs signed JSON events to one URL, in the
// order they happened, retrying with back-off, from a bounded queue so that signaling never waits.
package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Type names an event; the names are the public contract of docs/api.md.
type Type string

const (
	RoomStarted       Type = "room_started"       // the first person entered an empty room
	ParticipantJoined Type = "participant_joined" // someone entered (the first one too)
	ParticipantLeft   Type = "participant_left"   // someone left, closed the page or lost the network
	RoomFinished      Type = "room_finished"      // the last person left; Duration says how long the room lived
)

// Event is one POST's JSON body.
type Event struct {
	ID          string    `json:"id"` // unique: a receiver drops a retried duplicate by it
	Type        Type      `json:"type"`
	Room        string    `json:"room"`
	Participant string    `json:"participant,omitempty"` // the opaque id peers see in the signaling
	Time        time.Time `json:"time"`
	// Duration is how long the room lived, in seconds, on room_finished.
	Duration float64 `json:"duration,omitempty"`
}

// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
const SignatureHeader = "Duet-Signature"

// Defaults of Config's zero fields.
const (
	DefaultQueue    = 1024
	DefaultAttempts = 6
	DefaultBackoff  = time.Second
	DefaultTimeout  = 5 * time.Second
	maxBackoff      = time.Minute
)

// Config says where events go and how hard to try.
type Config struct {
	URL      string
	Secret   []byte        // signs every body; the receiver checks it with Verify
	Queue    int           // events waiting at most; beyond that new ones are dropped and counted
	Attempts int           // tries per event before it is given up and counted as failed
	Backoff  time.Duration // wait before the first retry, doubling each time up to a minute
	Timeout  time.Duration // per request
	Logger   *slog.Logger
}

// ErrConfig wraps every configuration mistake.
var ErrConfig = errors.New("webhook")

// Validate checks the settings; internal/config calls it too, so a bad one stops duet at start-up.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: --webhook-url %q is not an http(s) URL", ErrConfig, c.URL)
	}
	if len(c.Secret) == 0 {
		return fmt.Errorf("%w: --webhook-url and --webhook-secret go together: the secret signs every event", ErrConfig)
	}
	if c.Queue < 0 || c.Attempts < 0 || c.Backoff < 0 || c.Timeout < 0 {
		return fmt.Errorf("%w: negative queue, attempts, back-off or timeout", ErrConfig)
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	c.Queue = cmp.Or(c.Queue, DefaultQueue)
	c.Attempts = cmp.Or(c.Attempts, DefaultAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// Stats counts events by fate.
type Stats struct{ Delivered, Failed, Dropped uint64 }

// Sender delivers events one at a time, so the receiver sees them in order.
type Sender struct {
	cfg    Config
	client *http.Client
	queue  chan Event
	done   chan struct{}
	stop   context.CancelFunc
	ctx    context.Context

	// mu orders Send against Close: a late event (a disconnect during shutdown) is dropped, never sent on a closed queue.
	mu     sync.RWMutex
	closed bool

	delivered, failed, dropped atomic.Uint64
}

// New starts a sender; Close stops it.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	s := &Sender{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}, queue: make(chan Event, cfg.Queue),
		done: make(chan struct{}), ctx: ctx, stop: stop}
	go s.run()
	return s, nil
}

// Send queues e without ever blocking; false when the queue is full and e was dropped.
func (s *Sender) Send(e Event) bool {
	if e.ID == "" {
		e.ID = rand.Text()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(1)
		return false
	}
	select {
	case s.queue <- e:
		return true
	default:
		s.dropped.Add(1)
		s.cfg.Logger.Warn("webhook queue full; event dropped", "type", e.Type, "room", e.Room)
		return false
	}
}

// Stats reads the counters.
func (s *Sender) Stats() Stats {
	return Stats{Delivered: s.delivered.Load(), Failed: s.failed.Load(), Dropped: s.dropped.Load()}
}

// Close delivers what is queued until ctx ends, then gives up on the rest.
func (s *Sender) Close(ctx context.Context) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.stop()
		<-s.done
	}
}

func (s *Sender) run() {
	defer close(s.done)
	for e := range s.queue {
		if s.deliver(e) {
			s.delivered.Add(1)
		} else {
			s.failed.Add(1)
		}
	}
}

// deliver tries e until the receiver answers 2xx, the attempts run out or the sender stops.
func (s *Sender) deliver(e Event) bool {
	body, _ := json.Marshal(e) // an Event always marshals
	wait := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := s.post(body)
		if err == nil {
			return true
		}
		if attempt == s.cfg.Attempts || s.ctx.Err() != nil {
			s.cfg.Logger.Warn("webhook event given up", "type", e.Type, "room", e.Room, "attempts", attempt, "err", err)
			return false
		}
		s.cfg.Logger.Debug("webhook retry", "type", e.Type, "attempt", attempt, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-s.ctx.Done():
		}
		wait = min(2*wait, maxBackoff)
	}
}

func (s *Sender) post(body []byte) error {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "duet-webhook")
	req.Header.Set(SignatureHeader, Sign(s.cfg.Secret, body, time.Now()))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// Sign makes the SignatureHeader value for body sent at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook signature does not match")
	ErrStale        = errors.New("webhook signature too old or from the future")
)

// Verify checks a received SignatureHeader value against body, accepting timestamps within
// tolerance of now so that a captured request cannot be replayed later.
func Verify(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
