package sio

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Engine.IO packet types, the first character of every packet.
const (
	pOpen    = '0'
	pClose   = '1'
	pPing    = '2'
	pPong    = '3'
	pMessage = '4'
	pUpgrade = '5'
	pNoop    = '6'
)

// separator joins the packets of an Engine.IO 4 polling payload.
const separator = 0x1e

var errBadPayload = errors.New("malformed polling payload")

// decodePayload splits a polling POST body into packets: joined by \x1e in Engine.IO 4,
// `<length>:<packet>` in Engine.IO 3. Packets are slices of body.
func decodePayload(version int, body []byte) ([][]byte, error) {
	if version == 3 {
		return decodePayload3(body)
	}
	out := make([][]byte, 0, 1+bytes.Count(body, []byte{separator}))
	for p := range bytes.SplitSeq(body, []byte{separator}) {
		if len(p) == 0 {
			return nil, errBadPayload
		}
		out = append(out, p)
	}
	return out, nil
}

// decodePayload3 reads `<length>:<packet>…`, where length counts UTF-16 code units as JavaScript's
// String.length does.
func decodePayload3(body []byte) ([][]byte, error) {
	var out [][]byte
	for len(body) > 0 {
		i := bytes.IndexByte(body[:min(len(body), 8)], ':')
		if i <= 0 {
			return nil, errBadPayload
		}
		n, err := strconv.Atoi(string(body[:i]))
		if err != nil || n <= 0 {
			return nil, errBadPayload
		}
		body = body[i+1:]
		j, units := 0, 0
		for units < n && j < len(body) {
			r, size := utf8.DecodeRune(body[j:])
			units += utf16Units(r)
			j += size
		}
		if units != n {
			return nil, errBadPayload
		}
		out = append(out, body[:j])
		body = body[j:]
	}
	if len(out) == 0 {
		return nil, errBadPayload
	}
	return out, nil
}

// appendPayload writes packets as one polling response body.
func appendPayload(buf []byte, version int, packets [][]byte) []byte {
	for i, p := range packets {
		if version == 3 {
			buf = strconv.AppendInt(buf, int64(utf16Len(p)), 10)
			buf = append(buf, ':')
		} else if i > 0 {
			buf = append(buf, separator)
		}
		buf = append(buf, p...)
	}
	return buf
}

// utf16Len is JavaScript's length of the string p; an invalid byte decodes to U+FFFD, one unit.
func utf16Len(p []byte) int {
	n := 0
	for i := 0; i < len(p); {
		if p[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(p[i:])
		n += utf16Units(r)
		i += size
	}
	return n
}

func utf16Units(r rune) int {
	if r > 0xFFFF {
		return 2
	}
	return 1
}
