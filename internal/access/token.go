package access

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Invite is what a signed invite token grants: entry to Room until Expires, under an optional
// display name chosen by the application that minted it.
type Invite struct {
	Room    string
	Name    string
	Expires time.Time
}

// audience keeps tokens that some other service signed with a shared key from opening rooms here.
const audience = "duet"

// MinKeyLen is the shortest signing key accepted: HS256 wants at least the hash's 256 bits.
const MinKeyLen = 32

// Signer mints and verifies invite tokens: JWTs signed with HS256 under one server key.
type Signer struct{ key []byte }

type claims struct {
	Room string `json:"room"`
	Name string `json:"name,omitempty"`
	jwt.RegisteredClaims
}

// NewSigner returns a signer for key; ErrShortKey when it is under MinKeyLen bytes.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeyLen {
		return nil, ErrShortKey
	}
	return &Signer{key: key}, nil
}

// Mint signs an invite.
func (s *Signer) Mint(inv Invite, now time.Time) (string, error) {
	c := claims{Room: inv.Room, Name: inv.Name, RegisteredClaims: jwt.RegisteredClaims{
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(inv.Expires),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
}

// Verify checks token's signature, expiry and room: the invite, or ErrInvalidToken,
// ErrExpiredToken or ErrWrongRoom.
func (s *Signer) Verify(token, room string, now time.Time) (Invite, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), // never "none", never RS/HS confusion
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithTimeFunc(func() time.Time { return now }))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Invite{}, ErrExpiredToken
	case err != nil:
		return Invite{}, ErrInvalidToken
	case c.Room != room:
		return Invite{}, ErrWrongRoom
	}
	return Invite{Room: c.Room, Name: c.Name, Expires: c.ExpiresAt.Time}, nil
}
