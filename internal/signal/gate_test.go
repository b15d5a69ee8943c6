package signal

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"duet/internal/access"
	"duet/internal/siotest"
)

type opts = map[string]any

// TestPasswords: the first joiner sets the password, the second must give it, and a stranger learns
// nothing from a protected room, not even that it is full.
func TestPasswords(t *testing.T) {
	_, url := startServer(t)
	for _, client := range []int{4, 2} {
		p := "locked" + string(rune('0'+client))
		siotest.Run(t, url, client, []string{"websocket"},
			siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("c"),
			siotest.Emit("a", "join", p, opts{"password": "s3cret"}),
			siotest.Expect("a", "joined", p, "*", opts{"resume": "*"}),
			siotest.Emit("b", "join", p),
			siotest.Expect("b", "error", siotest.Refused("join", "password_required")),
			siotest.Emit("b", "join", p, opts{"password": "guess"}),
			siotest.Expect("b", "error", siotest.Refused("join", "wrong_password")),
			siotest.Emit("b", "join", p, opts{"password": "s3cret", "resume": "ignored"}), // no seat: a join
			siotest.Expect("b", "joined", p, "*", opts{"resume": "*"}),
			siotest.Expect("a", "other_joined", p, "*"),
			siotest.Expect("a", "otherjoin", p, "*"),
			// Full, but only the password's holders may know.
			siotest.Emit("c", "join", p),
			siotest.Expect("c", "error", siotest.Refused("join", "password_required")),
			siotest.Emit("c", "join", p, opts{"password": "s3creT"}),
			siotest.Expect("c", "error", siotest.Refused("join", "wrong_password")),
			siotest.Emit("c", "join", p, opts{"password": "s3cret"}),
			siotest.Expect("c", "full", p, "*"),
			// Empty again, the room forgets its password.
			siotest.Close("a"), siotest.Expect("b", "bye", p, "*"),
			siotest.Emit("b", "leave", p), siotest.Expect("b", "leaved", p, "*"),
			siotest.Emit("c", "join", p),
			siotest.Expect("c", "joined", p, "*"),
		)
	}
}

// TestResumeLockedRoom: a page takes its seat in a protected room back with its key alone, the room
// keeps its password, and a key that holds no seat makes a join that wants the password.
func TestResumeLockedRoom(t *testing.T) {
	_, url := startServer(t)
	siotest.Run(t, url, 4, []string{"websocket"},
		siotest.Connect("a"), siotest.Connect("b"), siotest.Connect("b2"), siotest.Connect("c"),
		siotest.Emit("a", "join", "kept", opts{"password": "s3cret"}),
		siotest.Expect("a", "joined", "kept", "$a", opts{"resume": "=ka"}),
		siotest.Emit("b", "join", "kept", opts{"password": "s3cret"}),
		siotest.Expect("b", "joined", "kept", "$b", opts{"resume": "=kb"}),
		siotest.Expect("a", "other_joined", "kept", "$b"), siotest.Expect("a", "otherjoin", "kept", "$b"),
		siotest.Emit("b2", "join", "kept", opts{"resume": "$kb"}),
		siotest.Expect("b2", "joined", "kept", "$b2", opts{"resume": "*", "resumed": true}),
		siotest.Expect("b", "disconnect", "*"),
		siotest.Quiet("a"),
		siotest.Emit("c", "join", "kept", opts{"resume": "$kb"}), // used up: a join, without the password
		siotest.Expect("c", "error", siotest.Refused("join", "password_required")),
		siotest.Emit("c", "join", "kept", opts{"resume": "$kb", "password": "s3cret"}),
		siotest.Expect("c", "full", "kept", "$c"),
	)
}

// TestGuessesLimited: past the burst of guesses, joins with a password are refused unchecked, the
// right password too, until the bucket refills; open rooms are untouched.
func TestGuessesLimited(t *testing.T) {
	_, url := startServer(t, func(c *Config) { c.Access.GuessBurst, c.Access.GuessRate = 4, 0.001 })
	steps := []siotest.Step{siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "guarded", opts{"password": "right"}), // a hash: one of the IP's 4
		siotest.Expect("a", "joined", "guarded", "*", opts{"resume": "*"})}
	for range 3 {
		steps = append(steps, siotest.Emit("b", "join", "guarded", opts{"password": "wrong"}),
			siotest.Expect("b", "error", siotest.Refused("join", "wrong_password")))
	}
	steps = append(steps,
		siotest.Emit("b", "join", "guarded", opts{"password": "right"}),
		siotest.Expect("b", "error", siotest.Refused("join", "rate_limited")),
		siotest.Emit("b", "join", "guarded"), // no password, no hash: told the room has one
		siotest.Expect("b", "error", siotest.Refused("join", "password_required")),
		siotest.Emit("b", "join", "open-beside"),
		siotest.Expect("b", "joined", "open-beside", "*"))
	siotest.Run(t, url, 4, []string{"websocket"}, steps...)
}

// TestInvites: with --rooms token only a valid invite for the room lets a client in.
func TestInvites(t *testing.T) {
	signer, err := access.NewSigner([]byte(strings.Repeat("s", access.MinKeyLen)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := access.NewSigner([]byte(strings.Repeat("o", access.MinKeyLen)))
	_, url := startServer(t, func(c *Config) { c.Access.Rooms, c.Access.Signer = RoomsToken, signer })
	now := time.Now()
	mint := func(s *access.Signer, name string, expires time.Time) string {
		tok, err := s.Mint(access.Invite{Room: name, Expires: expires}, now.Add(-2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name string
		args []any
		code string
	}{
		{"no token", []any{"a-room"}, "token_required"},
		{"empty token", []any{"a-room", opts{"token": ""}}, "token_required"},
		{"token for another room", []any{"a-room", opts{"token": mint(signer, "b-room", now.Add(time.Hour))}}, "invalid_token"},
		{"expired token", []any{"a-room", opts{"token": mint(signer, "a-room", now.Add(-time.Hour))}}, "expired_token"},
		{"token of another key", []any{"a-room", opts{"token": mint(other, "a-room", now.Add(time.Hour))}}, "invalid_token"},
		{"garbage", []any{"a-room", opts{"token": "x.y.z"}}, "invalid_token"},
		{"token not a string", []any{"a-room", opts{"token": 7}}, "invalid_options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			siotest.Run(t, url, 4, []string{"websocket"}, siotest.Connect("a"),
				siotest.Emit("a", "join", tt.args...), siotest.Expect("a", "error", siotest.Refused("join", tt.code)))
		})
	}
	valid := mint(signer, "a-room", now.Add(time.Hour))
	siotest.Run(t, url, 4, []string{"websocket"}, siotest.Connect("a"), siotest.Connect("b"),
		siotest.Emit("a", "join", "a-room", opts{"token": valid, "password": "pw"}),
		siotest.Expect("a", "joined", "a-room", "$a", opts{"resume": "*"}),
		siotest.Emit("b", "join", "a-room", opts{"token": valid}),
		siotest.Expect("b", "error", siotest.Refused("join", "password_required")),
		siotest.Emit("b", "join", "a-room", opts{"token": valid, "password": "pw"}),
		siotest.Expect("b", "joined", "a-room", "$b", opts{"resume": "*"}),
		siotest.Expect("a", "other_joined", "a-room", "$b"))
}

// TestHashingBounded: however many joins hash at once, at most MaxHashing hashes run together.
func TestHashingBounded(t *testing.T) {
	g := newGate(DefaultAccess())
	var now, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if r := g.slow(func() {
				n := now.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(20 * time.Millisecond)
				now.Add(-1)
			}); r != nil {
				t.Error(r)
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > DefaultMaxHashing || m < 1 {
		t.Fatalf("%d hashes ran at once, want at most %d", m, DefaultMaxHashing)
	}
}

func FuzzJoinOptions(f *testing.F) {
	for _, s := range []string{`{"password":"x"}`, `{"token":1}`, `{"resume":"a.b","token":"t"}`, `null`, `"x"`, `[]`, `{"password":"` + strings.Repeat("p", 300) + `"}`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, r := joinOptions([]json.RawMessage{[]byte(`"room"`), []byte(raw)})
		if r == nil && (len(o.Password) > access.MaxPasswordLen || len(o.Resume) > MaxResumeKey) {
			t.Fatalf("accepted a %d-byte password, a %d-byte resume key", len(o.Password), len(o.Resume))
		}
	})
}
