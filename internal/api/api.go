// Package api serves the HTTP API applications use to offer duet calls to their own users: minting a
// room with a signed invite link (docs/api.md).
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"duet/internal/access"
	"duet/internal/room"
)

// Invite lifetimes: DefaultTTL when the request names none, at most MaxTTL.
const (
	DefaultTTL = 24 * time.Hour
	MaxTTL     = 30 * 24 * time.Hour
	maxBody    = 4 << 10
	maxNameLen = 64
)

// Config is what the API needs.
type Config struct {
	Keys   []string       // API keys; a request carries one as "Authorization: Bearer <key>"
	Signer *access.Signer // signs the invites
}

// ErrNoKeys: an API without keys would be open to anyone.
var ErrNoKeys = errors.New("the API needs at least one --api-key")

// CreateRequest is the optional JSON body of POST /api/rooms.
type CreateRequest struct {
	Room       string `json:"room,omitempty"`        // a name of the application's; default a fresh unguessable one
	Name       string `json:"name,omitempty"`        // display name the invite carries
	TTLSeconds int64  `json:"ttl_seconds,omitempty"` // invite lifetime; default DefaultTTL
}

// CreateResponse is the answer of POST /api/rooms.
type CreateResponse struct {
	Room    string    `json:"room"`
	URL     string    `json:"url"` // the call page with the token in its fragment, which browsers never send to servers
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

type apiError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// New returns the handler of POST /api/rooms.
func New(cfg Config) (http.Handler, error) {
	if len(cfg.Keys) == 0 {
		return nil, ErrNoKeys
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/rooms", authorized(cfg.Keys, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { create(w, r, cfg.Signer) })))
	return mux, nil
}

// Authorized reports whether r carries one of keys as a bearer token, comparing in constant time.
func Authorized(keys []string, r *http.Request) bool {
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && oneOf(keys, given)
}

// AuthorizedBasic reports whether r carries one of keys as the password of HTTP basic auth (any
// user name), for pages a person opens in a browser.
func AuthorizedBasic(keys []string, r *http.Request) bool {
	_, given, ok := r.BasicAuth()
	return ok && oneOf(keys, given)
}

// oneOf compares given with every key in constant time.
func oneOf(keys []string, given string) bool {
	match := 0
	for _, k := range keys {
		match |= subtle.ConstantTimeCompare([]byte(given), []byte(k))
	}
	return match == 1
}

func authorized(keys []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Authorized(keys, r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="duet"`)
			reply(w, http.StatusUnauthorized, apiError{"unauthorized", "send an API key as Authorization: Bearer <key>"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func create(w http.ResponseWriter, r *http.Request, signer *access.Signer) {
	var req CreateRequest
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			reply(w, http.StatusBadRequest, apiError{"invalid_body", "the body must be a JSON object with room, name and ttl_seconds (all optional): " + err.Error()})
			return
		}
	}
	if req.Room == "" {
		req.Room = access.NewName()
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if req.TTLSeconds == 0 {
		ttl = DefaultTTL
	}
	switch {
	case !room.ValidName(req.Room):
		reply(w, http.StatusBadRequest, apiError{"invalid_room", fmt.Sprintf("a room name is 1 to %d characters of A-Z a-z 0-9 - _", room.MaxNameLen)})
		return
	case len(req.Name) > maxNameLen:
		reply(w, http.StatusBadRequest, apiError{"invalid_name", fmt.Sprintf("a display name has at most %d bytes", maxNameLen)})
		return
	case req.TTLSeconds < 0 || ttl > MaxTTL:
		reply(w, http.StatusBadRequest, apiError{"invalid_ttl", fmt.Sprintf("ttl_seconds is between 1 and %d", int64(MaxTTL/time.Second))})
		return
	}
	now := time.Now()
	inv := access.Invite{Room: req.Room, Name: req.Name, Expires: now.Add(ttl).Truncate(time.Second)}
	token, err := signer.Mint(inv, now)
	if err != nil {
		reply(w, http.StatusInternalServerError, apiError{"internal", err.Error()})
		return
	}
	link := url.URL{Scheme: "https", Host: r.Host, Path: "/room.html",
		RawQuery: url.Values{"room": {req.Room}}.Encode(), Fragment: "token=" + token}
	w.Header().Set("Cache-Control", "no-store")
	reply(w, http.StatusCreated, CreateResponse{Room: req.Room, URL: link.String(), Token: token, Expires: inv.Expires})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
