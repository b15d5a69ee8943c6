// Package access decides who may enter a room beyond its name: unguessable generated names, room
// passwords kept only as salted slow hashes, and signed invite tokens minted for applications.
package access

import (
	"errors"
	"fmt"
)

// Errors a caller maps to the protocol's refusals.
var (
	ErrPasswordRequired = errors.New("this room has a password")
	ErrWrongPassword    = errors.New("wrong password")
	ErrInvalidToken     = errors.New("invalid invite token")
	ErrExpiredToken     = errors.New("invite token expired")
	ErrWrongRoom        = errors.New("invite token is for another room")
	ErrShortKey         = fmt.Errorf("the invite signing key must have at least %d bytes", MinKeyLen)
)
