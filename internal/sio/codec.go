package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The one Socket.IO codec: event packets are cut into raw JSON arguments in one pass, and written back
// from strings and raw JSON, so a relayed payload reaches the peer byte for byte (no key reordering,
// no float64 numbers) and is never decoded into maps.

// Limits on the parts of an event packet.
const (
	maxNamespaceLen = 512
	maxPacketIDLen  = 20
)

var errBadEvent = errors.New("invalid event packet")

// reserved are the event names Socket.IO keeps for itself; a client may not emit them.
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
	"newListener": true, "removeListener": true,
}

// Event is a decoded EVENT packet: `2[/nsp,][id]["name",args…]`.
type Event struct {
	Nsp  string // "/" unless the packet names another namespace
	ID   int64  // the ack id the client asked for, -1 for none (duet never acknowledges)
	Name string
	Args []json.RawMessage
}

// decodeEvent parses an EVENT packet. The arguments are slices of b, which the caller must not reuse.
func decodeEvent(b []byte) (Event, error) {
	e := Event{Nsp: "/", ID: -1}
	rest := b[1:]
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest[:min(len(rest), maxNamespaceLen+1)], ',')
		if i < 0 {
			return e, fmt.Errorf("%w: namespace", errBadEvent)
		}
		e.Nsp, rest = string(rest[:i]), rest[i+1:]
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		if n > maxPacketIDLen {
			return e, fmt.Errorf("%w: id", errBadEvent)
		}
		id, err := strconv.ParseInt(string(rest[:n]), 10, 64)
		if err != nil {
			return e, fmt.Errorf("%w: id", errBadEvent)
		}
		e.ID, rest = id, rest[n:]
	}
	// One pass checks the whole array; the arguments are then cut out of it without copying.
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' || !json.Valid(rest) {
		return e, fmt.Errorf("%w: payload", errBadEvent)
	}
	args := splitArray(rest)
	if len(args) == 0 {
		return e, fmt.Errorf("%w: payload", errBadEvent)
	}
	name, ok := eventName(args[0])
	if !ok || reserved[name] {
		return e, fmt.Errorf("%w: event name", errBadEvent)
	}
	e.Name, e.Args = name, args[1:]
	return e, nil
}

// splitArray returns the elements of a JSON array already known to be valid, each without the white
// space around it.
func splitArray(b []byte) []json.RawMessage {
	out := make([]json.RawMessage, 0, 4) // join, leave and message have at most three
	depth, start, inString := 0, -1, false
	for i := 1; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}':
			depth--
		case ']':
			if depth == 0 {
				if start >= 0 {
					out = append(out, bytes.TrimRight(b[start:i], " \t\r\n"))
				}
				return out
			}
			depth--
		case ',':
			if depth == 0 {
				out = append(out, bytes.TrimRight(b[start:i], " \t\r\n"))
				start = -1
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// eventName decodes the first element, which must be a JSON string; the protocol's own names cost
// no allocation.
func eventName(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	switch string(inner) {
	case "join":
		return "join", true
	case "leave":
		return "leave", true
	case "message":
		return "message", true
	}
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	var name string
	return name, json.Unmarshal(raw, &name) == nil
}

// appendEvent writes the Engine.IO message of an EVENT packet of the main namespace, `42["name",…]`;
// each argument is a string (quoted here) or raw JSON (written as it is).
func appendEvent(buf []byte, name string, args []any) []byte {
	buf = append(buf, "42["...)
	buf = appendString(buf, name)
	for _, a := range args {
		buf = append(buf, ',')
		switch v := a.(type) {
		case string:
			buf = appendString(buf, v)
		case json.RawMessage:
			buf = append(buf, v...)
		default:
			panic(fmt.Sprintf("sio: event argument of type %T; only string and json.RawMessage are sent", a))
		}
	}
	return append(buf, ']')
}

// eventLen is an upper bound of appendEvent's output for the common unescaped case.
func eventLen(name string, args []any) int {
	n := 8 + len(name)
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v) + 3
		case json.RawMessage:
			n += len(v) + 1
		}
	}
	return n
}

// appendString quotes s as JSON; names and ids are plain ASCII, so the escaping path is rare.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(buf, q...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
