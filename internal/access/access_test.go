package access

import (
	"encoding/base64"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The documented shape, and the room name rule of docs/protocol.md.
var (
	nameShape = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){3}$`)
	roomRule  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

func TestNewNameShapeAndEntropy(t *testing.T) {
	if bits := float64(NameGroups*NameGroupLen) * math.Log2(float64(len(NameAlphabet))); bits < 96 {
		t.Fatalf("a generated name carries %.0f random bits, want at least 96", bits)
	}
	if len(NameAlphabet) != 32 || strings.ContainsAny(NameAlphabet, "ilou") {
		t.Fatalf("alphabet %q: want 32 symbols without i, l, o, u", NameAlphabet)
	}
	// Every symbol of every position must be reachable and none favoured: over 20 000 names each
	// symbol appears about 625 times per position; a stuck or biased generator falls far outside.
	const n = 20000
	counts := make([]map[rune]int, NameGroups*NameGroupLen)
	for i := range counts {
		counts[i] = map[rune]int{}
	}
	seen := map[string]bool{}
	for range n {
		name := NewName()
		if !nameShape.MatchString(name) || !roomRule.MatchString(name) {
			t.Fatalf("%q does not have the documented shape", name)
		}
		if seen[name] {
			t.Fatalf("%q generated twice", name)
		}
		seen[name] = true
		for i, c := range strings.ReplaceAll(name, "-", "") {
			counts[i][c]++
		}
	}
	for pos, m := range counts {
		if len(m) != 32 {
			t.Fatalf("position %d used %d symbols, want all 32", pos, len(m))
		}
		for c, k := range m {
			if k < 450 || k > 800 { // mean 625, σ ≈ 24.6: these bounds are > 7σ away
				t.Fatalf("position %d: symbol %q appeared %d times in %d names", pos, c, k, n)
			}
		}
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "correct horse") {
		t.Fatal("the hash contains the password")
	}
	again, _ := HashPassword("correct horse")
	if again == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		give string
		want error
	}{
		{"correct horse", nil},
		{"", ErrPasswordRequired},
		{"correct hors", ErrWrongPassword},
		{"Correct horse", ErrWrongPassword},
		{strings.Repeat("x", MaxPasswordLen+1), ErrWrongPassword},
	} {
		if err := h.Check(tc.give); !errors.Is(err, tc.want) {
			t.Errorf("Check(%.20q) = %v, want %v", tc.give, err, tc.want)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxPasswordLen+1)} {
		if _, err := HashPassword(bad); err == nil {
			t.Errorf("HashPassword(%d bytes) accepted", len(bad))
		}
	}
	for _, corrupt := range []Hash{"", "argon2id$", "bcrypt$a$b", "argon2id$!!$!!"} {
		if err := corrupt.Check("x"); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("corrupt hash %q: %v", corrupt, err)
		}
	}
}

func TestInviteTokens(t *testing.T) {
	key := []byte(strings.Repeat("k", MinKeyLen))
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(key[:MinKeyLen-1]); !errors.Is(err, ErrShortKey) {
		t.Fatalf("short key: %v", err)
	}
	now := time.Unix(1_800_000_000, 0)
	tok, err := s.Mint(Invite{Room: "a", Name: "Ana", Expires: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSigner([]byte(strings.Repeat("o", MinKeyLen)))
	otherTok, _ := other.Mint(Invite{Room: "a", Expires: now.Add(time.Hour)}, now)
	noneTok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"room": "a", "aud": "duet", "exp": now.Add(time.Hour).Unix()}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	foreignAud, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"room": "a", "aud": "other", "exp": now.Add(time.Hour).Unix()}).SignedString(key)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"room": "a", "aud": "duet"}).SignedString(key)
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), `"room":"a"`, `"room":"b"`, 1))) + "." + parts[2]

	for _, tc := range []struct {
		what, token, room string
		at                time.Time
		want              error
	}{
		{"valid", tok, "a", now, nil},
		{"for another room", tok, "b", now, ErrWrongRoom},
		{"expired", tok, "a", now.Add(time.Hour + time.Second), ErrExpiredToken},
		{"another key", otherTok, "a", now, ErrInvalidToken},
		{"alg none", noneTok, "a", now, ErrInvalidToken},
		{"another audience", foreignAud, "a", now, ErrInvalidToken},
		{"no expiry", noExp, "a", now, ErrInvalidToken},
		{"payload edited", forged, "b", now, ErrInvalidToken},
		{"garbage", "not.a.token", "a", now, ErrInvalidToken},
		{"empty", "", "a", now, ErrInvalidToken},
	} {
		inv, err := s.Verify(tc.token, tc.room, tc.at)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
		if tc.want == nil && (inv.Room != "a" || inv.Name != "Ana" || !inv.Expires.Equal(now.Add(time.Hour))) {
			t.Errorf("%s: got %+v", tc.what, inv)
		}
	}
}

// FuzzVerify: any string a client sends as a token is refused cleanly or is a valid invite.
func FuzzVerify(f *testing.F) {
	s, _ := NewSigner([]byte(strings.Repeat("k", MinKeyLen)))
	now := time.Unix(1_800_000_000, 0)
	tok, _ := s.Mint(Invite{Room: "a", Expires: now.Add(time.Hour)}, now)
	for _, seed := range []string{tok, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30."} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		inv, err := s.Verify(token, "a", now)
		if err == nil && inv.Room != "a" {
			t.Fatalf("accepted %q for room %q", token, inv.Room)
		}
	})
}
