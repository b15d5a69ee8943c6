package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
	"github.com/zishang520/socket.io/v3/pkg/types"
)

// Limits on the parts of an event packet, the same as the library's own decoder.
const (
	maxNamespaceLen = 512
	maxPacketIDLen  = 20
)

// rawParser keeps event arguments as json.RawMessage in both directions, so a relayed payload reaches
// the peer byte for byte (no key reordering, no float64 numbers) and is never decoded into maps.
// Every other packet type goes through the library's stock parser.
type rawParser struct{}

func (rawParser) NewEncoder() parser.Encoder { return rawEncoder{stock: parser.NewEncoder()} }
func (rawParser) NewDecoder() parser.Decoder { return &rawDecoder{Decoder: parser.NewDecoder()} }

type rawDecoder struct {
	parser.Decoder // the stock decoder: non-event packets, and the "decoded" event emitter
}

// Add decodes one text or binary frame; event packets are parsed here, the rest by the stock decoder.
func (d *rawDecoder) Add(data any) error {
	var text []byte
	switch v := data.(type) {
	case string:
		text = []byte(v)
	case *types.StringBuffer:
		text = v.Bytes()
	}
	if len(text) == 0 || text[0] != '0'+byte(parser.EVENT) {
		return d.Decoder.Add(data)
	}
	p, err := decodeEvent(text)
	if err != nil {
		return err
	}
	d.Emit("decoded", p)
	return nil
}

var errBadEvent = errors.New("invalid event packet")

// decodeEvent parses `2[/nsp,][id][...]` into a packet whose Data is the event name followed by each
// argument as json.RawMessage.
func decodeEvent(b []byte) (*parser.Packet, error) {
	p := &parser.Packet{Type: parser.EVENT, Nsp: "/"}
	rest := b[1:]
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest[:min(len(rest), maxNamespaceLen+1)], ',')
		if i < 0 {
			return nil, fmt.Errorf("%w: namespace", errBadEvent)
		}
		p.Nsp, rest = string(rest[:i]), rest[i+1:]
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n > 0 {
		if n > maxPacketIDLen {
			return nil, fmt.Errorf("%w: id", errBadEvent)
		}
		id, err := strconv.ParseUint(string(rest[:n]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: id", errBadEvent)
		}
		p.Id, rest = &id, rest[n:]
	}
	// One pass checks the whole array; the arguments are then cut out of one copy of it, so that a
	// relayed payload costs no decoding and one allocation.
	rest = bytes.TrimLeft(rest, " \t\r\n")
	if len(rest) == 0 || rest[0] != '[' || !json.Valid(rest) {
		return nil, fmt.Errorf("%w: payload", errBadEvent)
	}
	args := splitArray(bytes.Clone(rest))
	if len(args) == 0 {
		return nil, fmt.Errorf("%w: payload", errBadEvent)
	}
	name, ok := eventName(args[0])
	if !ok || parser.ReservedEvents.Has(name) {
		return nil, fmt.Errorf("%w: event name", errBadEvent)
	}
	data := make([]any, len(args))
	data[0] = name
	for i, a := range args[1:] {
		data[i+1] = json.RawMessage(a)
	}
	p.Data = data
	return p, nil
}

// splitArray returns the elements of a JSON array already known to be valid, each without the white
// space around it.
func splitArray(b []byte) [][]byte {
	out := make([][]byte, 0, 4) // join, leave and message have at most three
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
func eventName(raw []byte) (string, bool) {
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

type rawEncoder struct {
	stock parser.Encoder
}

// Encode writes event packets whose arguments are strings or raw JSON directly; the rest goes to the
// stock encoder.
func (e rawEncoder) Encode(p *parser.Packet) []types.BufferInterface {
	args, ok := p.Data.([]any)
	if p.Type != parser.EVENT || !ok || !rawArgs(args) {
		return e.stock.Encode(p)
	}
	buf := make([]byte, 0, 64+argsLen(args))
	buf = append(buf, '0'+byte(parser.EVENT))
	if p.Nsp != "" && p.Nsp != "/" {
		buf = append(buf, p.Nsp...)
		buf = append(buf, ',')
	}
	if p.Id != nil {
		buf = strconv.AppendUint(buf, *p.Id, 10)
	}
	buf = append(buf, '[')
	for i, a := range args {
		if i > 0 {
			buf = append(buf, ',')
		}
		switch v := a.(type) {
		case string:
			buf = appendString(buf, v)
		case json.RawMessage:
			buf = append(buf, v...)
		}
	}
	buf = append(buf, ']')
	return []types.BufferInterface{types.NewStringBuffer(buf)}
}

// rawArgs reports whether every argument is a string or raw JSON, the only kinds duet emits.
func rawArgs(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case string, json.RawMessage:
		default:
			return false
		}
	}
	return len(args) > 0
}

func argsLen(args []any) (n int) {
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v) + 2
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
