// Package webhooktest is a webhook receiver for tests in any package: a real HTTP server that checks
// every signature and hands over the events in the order they arrived.
package webhooktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"duet/internal/webhook"
)

// Receiver collects the events POSTed to URL.
type Receiver struct {
	URL    string
	Secret []byte
	Events chan webhook.Event
}

// Start runs a receiver until the test ends; a body with a bad signature fails t.
func Start(t testing.TB, secret []byte) *Receiver {
	r := &Receiver{Secret: secret, Events: make(chan webhook.Event, 1024)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err == nil {
			err = webhook.Verify(secret, body, req.Header.Get(webhook.SignatureHeader), time.Now(), time.Minute)
		}
		var e webhook.Event
		if err == nil {
			err = json.Unmarshal(body, &e)
		}
		if err != nil {
			t.Errorf("webhook %s: %v", body, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Events <- e
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Next returns the next event, failing t after 10 s without one.
func (r *Receiver) Next(t testing.TB) webhook.Event {
	t.Helper()
	select {
	case e := <-r.Events:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook event within 10 s")
		return webhook.Event{}
	}
}

// Quiet fails t if an event arrives within d.
func (r *Receiver) Quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case e := <-r.Events:
		t.Fatalf("unexpected webhook event %+v", e)
	case <-time.After(d):
	}
}

// CheckRoomLife checks the six events of a room where A joins, B joins, A leaves, B leaves, given
// in the order they happened.
func CheckRoomLife(t testing.TB, name string, got []webhook.Event) {
	t.Helper()
	types := make([]webhook.Type, len(got))
	ids := map[string]bool{}
	for i, e := range got {
		types[i] = e.Type
		if e.Room != name || e.ID == "" || ids[e.ID] {
			t.Fatalf("event %d: %+v (room %q wanted, ids unique)", i, e, name)
		}
		ids[e.ID] = true
	}
	want := []webhook.Type{webhook.RoomStarted, webhook.ParticipantJoined, webhook.ParticipantJoined,
		webhook.ParticipantLeft, webhook.ParticipantLeft, webhook.RoomFinished}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	a, b := got[1].Participant, got[2].Participant
	if a == "" || a == b || got[3].Participant != a || got[4].Participant != b {
		t.Fatalf("participants joined %q, %q and left %q, %q", a, b, got[3].Participant, got[4].Participant)
	}
	lived := got[5].Time.Sub(got[0].Time).Seconds()
	if d := got[5].Duration; d <= 0 || d-lived > 0.05 || lived-d > 0.05 {
		t.Fatalf("room_finished says the room lived %.3f s; started %v, finished %v", d, got[0].Time, got[5].Time)
	}
}
