package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (RFC 9106's second recommended option, with less memory): one hash costs
// about 20 ms and 19 MiB, so a 2-core VM checks at most ~100 guesses a second in all, on top of the
// per-room and per-IP guess limits.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
	// MaxPasswordLen bounds what one join can make the server hash.
	MaxPasswordLen = 256
)

// Hash is a room password as the server keeps it: "argon2id$<salt>$<key>", base64 without padding.
// The password itself is never stored.
type Hash string

// HashPassword salts and hashes a new room password.
func HashPassword(password string) (Hash, error) {
	if password == "" || len(password) > MaxPasswordLen {
		return "", fmt.Errorf("a room password has 1 to %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, saltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return Hash("argon2id$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key)), nil
}

// Check compares password with h in constant time: nil, ErrPasswordRequired (none given) or
// ErrWrongPassword.
func (h Hash) Check(password string) error {
	if password == "" {
		return ErrPasswordRequired
	}
	if len(password) > MaxPasswordLen {
		return ErrWrongPassword
	}
	parts := strings.Split(string(h), "$")
	if len(parts) != 3 || parts[0] != "argon2id" {
		return ErrWrongPassword
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	want, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return ErrWrongPassword
	}
	got := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrWrongPassword
	}
	return nil
}
