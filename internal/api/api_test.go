package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"duet/internal/access"
)

func newAPI(t *testing.T) (http.Handler, *access.Signer) {
	t.Helper()
	signer, err := access.NewSigner([]byte(strings.Repeat("k", access.MinKeyLen)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Keys: []string{"key-one", "key-two"}, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	return h, signer
}

func TestCreateRoom(t *testing.T) {
	h, signer := newAPI(t)
	for _, tc := range []struct {
		what, auth, body string
		status           int
		code             string // the error code, or "" on success
		room, name       string // expected on success ("" room: generated)
		ttl              time.Duration
	}{
		{"no key", "", "", 401, "unauthorized", "", "", 0},
		{"wrong key", "Bearer key-three", "", 401, "unauthorized", "", "", 0},
		{"key as basic", "Basic a2V5LW9uZQ==", "", 401, "unauthorized", "", "", 0},
		{"generated room", "Bearer key-one", "", 201, "", "", "", DefaultTTL},
		{"second key", "Bearer key-two", "{}", 201, "", "", "", DefaultTTL},
		{"named room", "Bearer key-one", `{"room":"team-42","name":"Ana","ttl_seconds":600}`, 201, "", "team-42", "Ana", 10 * time.Minute},
		{"bad room", "Bearer key-one", `{"room":"a b"}`, 400, "invalid_room", "", "", 0},
		{"long name", "Bearer key-one", `{"name":"` + strings.Repeat("n", 65) + `"}`, 400, "invalid_name", "", "", 0},
		{"ttl too long", "Bearer key-one", `{"ttl_seconds":99999999}`, 400, "invalid_ttl", "", "", 0},
		{"negative ttl", "Bearer key-one", `{"ttl_seconds":-5}`, 400, "invalid_ttl", "", "", 0},
		{"unknown field", "Bearer key-one", `{"rooms":"x"}`, 400, "invalid_body", "", "", 0},
		{"not json", "Bearer key-one", `room=x`, 400, "invalid_body", "", "", 0},
		{"body too large", "Bearer key-one", `{"name":"` + strings.Repeat("n", 5000) + `"}`, 400, "invalid_body", "", "", 0},
	} {
		req := httptest.NewRequest("POST", "https://call.example.org/api/rooms", strings.NewReader(tc.body))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		before := time.Now()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.what, rec.Code, tc.status, rec.Body)
			continue
		}
		if tc.code != "" {
			var e apiError
			if json.Unmarshal(rec.Body.Bytes(), &e); e.Code != tc.code || e.Reason == "" {
				t.Errorf("%s: body %s, want code %s", tc.what, rec.Body, tc.code)
			}
			continue
		}
		var got CreateResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		if tc.room != "" && got.Room != tc.room || tc.room == "" && len(got.Room) != access.NameGroups*(access.NameGroupLen+1)-1 {
			t.Errorf("%s: room %q", tc.what, got.Room)
		}
		inv, err := signer.Verify(got.Token, got.Room, time.Now())
		if err != nil || inv.Name != tc.name {
			t.Errorf("%s: token does not open its room: %+v %v", tc.what, inv, err)
		}
		if d := got.Expires.Sub(before); d < tc.ttl-2*time.Second || d > tc.ttl {
			t.Errorf("%s: expires in %v, want %v", tc.what, d, tc.ttl)
		}
		u, _ := url.Parse(got.URL)
		if u.Scheme != "https" || u.Host != "call.example.org" || u.Path != "/room.html" || u.Query().Get("room") != got.Room || u.Fragment != "token="+got.Token {
			t.Errorf("%s: url %s", tc.what, got.URL)
		}
	}
}

func TestNeedsKeys(t *testing.T) {
	if _, err := New(Config{}); err != ErrNoKeys {
		t.Fatalf("New without keys: %v", err)
	}
}
