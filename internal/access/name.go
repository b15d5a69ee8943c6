package access

import (
	"crypto/rand"
	"strings"
)

// NameAlphabet spells generated room names: lower-case letters and digits without the ones people
// confuse when reading a link aloud (i, l, o, u), 32 symbols so each carries 5 bits. The page's New
// call draws the same shape in web/js/access.js: keep the two equal.
const NameAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// Generated names are NameGroups groups of NameGroupLen symbols joined by '-': 100 random bits,
// e.g. "k4pxq-93tqa-7mz2b-cexr8", well inside the room name rule (docs/protocol.md).
const (
	NameGroups   = 4
	NameGroupLen = 5
)

// NewName returns a fresh unguessable room name.
func NewName() string {
	buf := make([]byte, NameGroups*NameGroupLen)
	_, _ = rand.Read(buf) // crypto/rand.Read never returns an error (Go 1.24+)
	var b strings.Builder
	for i, c := range buf {
		if i > 0 && i%NameGroupLen == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(NameAlphabet[c%32]) // 256 is a multiple of 32: every symbol equally likely
	}
	return b.String()
}
