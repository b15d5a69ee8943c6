package signal

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"duet/internal/access"
	"duet/internal/ratelimit"
)

// RoomsMode says who may enter a room: anyone who knows its name, or only holders of an invite.
type RoomsMode string

const (
	RoomsOpen  RoomsMode = "open"  // a room's name (and its password, if it has one) lets you in
	RoomsToken RoomsMode = "token" // a join needs an invite token signed for that room
)

// Access decides who may enter a room beyond its name.
type Access struct {
	Rooms  RoomsMode      // "" is RoomsOpen
	Signer *access.Signer // verifies invite tokens; required by RoomsToken
	// Guesses bounds the password hashes a client can make the server compute: per IP (setting or
	// checking a password) and per room (checking it), each GuessRate a second in bursts of
	// GuessBurst.
	GuessRate  float64
	GuessBurst int
	// MaxHashing is how many password hashes run at once, each about 19 MiB and 20 ms of one core;
	// a join waits up to hashWait for its turn, then is refused with rate_limited.
	MaxHashing int
}

// Defaults of Access: a person mistyping a password a few times is never stopped, a script gets one
// guess every ten seconds per address and per room, and two hashes at most cost 40 MiB.
const (
	DefaultGuessRate  = 0.1
	DefaultGuessBurst = 10
	DefaultMaxHashing = 2
	hashWait          = 2 * time.Second
)

// DefaultAccess is open rooms with the default guess limits.
func DefaultAccess() Access {
	return Access{Rooms: RoomsOpen, GuessRate: DefaultGuessRate, GuessBurst: DefaultGuessBurst, MaxHashing: DefaultMaxHashing}
}

var errAccess = errors.New("signal: --rooms token needs an invite signer; guess limits and MaxHashing must be positive")

func (a Access) validate() error {
	if (a.Rooms != RoomsOpen && a.Rooms != RoomsToken) || (a.Rooms == RoomsToken && a.Signer == nil) ||
		a.GuessRate <= 0 || a.GuessBurst < 1 || a.MaxHashing < 1 {
		return errAccess
	}
	return nil
}

// gate holds what checking tokens and passwords needs across joins.
type gate struct {
	cfg     Access
	perIP   *ratelimit.Keyed[netip.Prefix]
	perRoom *ratelimit.Keyed[string]
	hashing chan struct{} // a semaphore of MaxHashing slots
}

func newGate(a Access) *gate {
	return &gate{cfg: a, perIP: ratelimit.New[netip.Prefix](a.GuessRate, a.GuessBurst),
		perRoom: ratelimit.New[string](a.GuessRate, a.GuessBurst), hashing: make(chan struct{}, a.MaxHashing)}
}

// invited checks the invite token in token mode; open rooms ignore tokens.
func (g *gate) invited(name, token string) *refusal {
	if g.cfg.Rooms != RoomsToken {
		return nil
	}
	if token == "" {
		return refuse("join", "token_required", "this server admits joins with an invite token only")
	}
	switch _, err := g.cfg.Signer.Verify(token, name, time.Now()); {
	case errors.Is(err, access.ErrExpiredToken):
		return refuse("join", "expired_token", "this invite has expired; ask for a new link")
	case err != nil:
		return refuse("join", "invalid_token", "this invite is not valid for room %q", name)
	}
	return nil
}

var rateLimitedGuess = refuse("join", "rate_limited", "too many password attempts; wait a minute")

// hash makes the lock of a room being opened with password.
func (g *gate) hash(ip netip.Prefix, password string) (access.Hash, *refusal) {
	if ok, _ := g.perIP.Allow(ip, time.Now()); !ok {
		return "", rateLimitedGuess
	}
	var h access.Hash
	var err error
	if r := g.slow(func() { h, err = access.HashPassword(password) }); r != nil {
		return "", r
	}
	if err != nil {
		return "", refuse("join", "invalid_options", "%v", err)
	}
	return h, nil
}

// check compares password with a room's lock.
func (g *gate) check(ip netip.Prefix, name string, lock access.Hash, password string) *refusal {
	if password == "" {
		return refuse("join", "password_required", "room %q has a password", name)
	}
	now := time.Now()
	if ok, _ := g.perIP.Allow(ip, now); !ok {
		return rateLimitedGuess
	}
	if ok, _ := g.perRoom.Allow(name, now); !ok {
		return rateLimitedGuess
	}
	var err error
	if r := g.slow(func() { err = lock.Check(password) }); r != nil {
		return r
	}
	if err != nil {
		return refuse("join", "wrong_password", "wrong password for room %q", name)
	}
	return nil
}

// slow runs f in one of the hashing slots, waiting hashWait at most for one.
func (g *gate) slow(f func()) *refusal {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case g.hashing <- struct{}{}:
	case <-t.C:
		return refuse("join", "rate_limited", "the server is busy checking passwords; try again in a few seconds")
	}
	defer func() { <-g.hashing }()
	f()
	return nil
}

// String names the mode in flags and logs.
func (m RoomsMode) String() string { return string(m) }

// Set parses a --rooms value.
func (m *RoomsMode) Set(s string) error {
	if s != string(RoomsOpen) && s != string(RoomsToken) {
		return fmt.Errorf("want open or token, got %q", s)
	}
	*m = RoomsMode(s)
	return nil
}
