package signal

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

func TestDecodeEvent(t *testing.T) {
	tests := []struct {
		in   string
		nsp  string
		id   int64 // -1: none
		args []string
	}{
		{`2["join","room1"]`, "/", -1, []string{`"room1"`}},
		{`2/chat,["join","room1"]`, "/chat", -1, []string{`"room1"`}},
		{`27["join","r"]`, "/", 7, []string{`"r"`}},
		{`2/chat,12["leave","r"]`, "/chat", 12, []string{`"r"`}},
		// Key order, number spelling and white space inside an argument are kept as sent.
		{`2["message","r",{"type":"offer","sdp":"v=0","n":1.0,"z":{"b":1, "a":2}}]`, "/", -1,
			[]string{`"r"`, `{"type":"offer","sdp":"v=0","n":1.0,"z":{"b":1, "a":2}}`}},
		{`2["bye"]`, "/", -1, []string{}},
	}
	for _, tt := range tests {
		p, err := decodeEvent([]byte(tt.in))
		if err != nil {
			t.Fatalf("decodeEvent(%s): %v", tt.in, err)
		}
		if p.Nsp != tt.nsp || (p.Id == nil) != (tt.id < 0) || p.Id != nil && int64(*p.Id) != tt.id {
			t.Errorf("decodeEvent(%s): nsp %q id %v", tt.in, p.Nsp, p.Id)
		}
		data := p.Data.([]any)
		if len(data) != len(tt.args)+1 {
			t.Fatalf("decodeEvent(%s): %d args, want %d", tt.in, len(data)-1, len(tt.args))
		}
		for i, want := range tt.args {
			if got := string(data[i+1].(json.RawMessage)); got != want {
				t.Errorf("decodeEvent(%s) arg %d = %s, want %s", tt.in, i, got, want)
			}
		}
	}
}

func TestDecodeEventRefuses(t *testing.T) {
	for _, in := range []string{
		`2`, `2[]`, `2{}`, `2[1]`, `2[null,"x"]`, `2["disconnect"]`, `2["connect","x"]`, `2["join",`,
		`2/chat["join"]`, `2123456789012345678901["join"]`, `299999999999999999999["join"]`, `2["join"]x`,
	} {
		if p, err := decodeEvent([]byte(in)); err == nil {
			t.Errorf("decodeEvent(%s) = %+v, want an error", in, p)
		}
	}
}

// TestRelayIsByteForByte sends a payload through decoding and the encoder a relay uses.
func TestRelayIsByteForByte(t *testing.T) {
	payload := `{"type":"answer","sdp":"v=0\r\na=x:<&>\u00e9","label":1.50,"e":1e3,"z":{"b":[1,2],"a":null}}`
	p, err := decodeEvent([]byte(`2["message","room1",` + payload + `]`))
	if err != nil {
		t.Fatal(err)
	}
	args := p.Data.([]any)
	out := rawParser{}.NewEncoder().Encode(&parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"message", "room1", args[2]}})
	want := `2["message","room1",` + payload + `]`
	if len(out) != 1 || out[0].String() != want {
		t.Fatalf("relayed %v, want %s", out, want)
	}
}

func TestEncodeStrings(t *testing.T) {
	enc := rawParser{}.NewEncoder()
	id := uint64(3)
	tests := []struct {
		p    parser.Packet
		want string
	}{
		{parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"joined", "room1", "AbC-_09"}}, `2["joined","room1","AbC-_09"]`},
		{parser.Packet{Type: parser.EVENT, Nsp: "/x", Id: &id, Data: []any{"e", `q"<`}}, `2/x,3["e","q\"\u003c"]`},
		// Not an event of strings and raw JSON: the stock encoder writes it.
		{parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"n", 1}}, `2["n",1]`},
		{parser.Packet{Type: parser.CONNECT, Nsp: "/", Data: map[string]any{"sid": "s"}}, `0{"sid":"s"}`},
	}
	for _, tt := range tests {
		out := enc.Encode(&tt.p)
		if len(out) != 1 || out[0].String() != tt.want {
			t.Errorf("Encode(%+v) = %v, want %s", tt.p, out, tt.want)
		}
	}
}

// FuzzEvent feeds arbitrary frames through the decoder and the argument checks: no panic, and what
// decodes re-encodes to the same arguments.
func FuzzEvent(f *testing.F) {
	for _, s := range []string{
		`2["join","room1"]`, `2["message","r",{"type":"offer","sdp":"x"}]`, `2/a,1["leave","r"]`,
		`2["message","r",null]`, `2["join",42]`, `2[`, `2["message","r",{"a":"\ud800"}]`,
	} {
		f.Add([]byte(s))
	}
	enc := rawParser{}.NewEncoder()
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) == 0 || frame[0] != '2' {
			frame = append([]byte{'2'}, frame...)
		}
		p, err := decodeEvent(frame)
		if err != nil {
			return
		}
		args := p.Data.([]any)
		name := args[0].(string)
		_, _ = roomArg(name, args[1:])
		_, _ = payloadArg(name, args[1:])
		out := enc.Encode(p)
		again, err := decodeEvent([]byte(out[0].String()))
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", out[0].String(), err)
		}
		for i, a := range again.Data.([]any)[1:] {
			if !bytes.Equal(a.(json.RawMessage), args[i+1].(json.RawMessage)) {
				t.Fatalf("argument %d changed: %s → %s", i, args[i+1], a)
			}
		}
	})
}

// FuzzSplitArray checks the array splitter against encoding/json's own decoding into raw elements.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{
		`["join","r"]`, `[ "a" , {"b":[1,2,"]"]} , "c\"]" ]`, `[]`, `[[],[[]],{}]`, `["\\",1.0e3,null,true]`,
		`["message","r",{"sdp":"v=0\r\na=x"}]`, "[\n1\t,\r2 ]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		body := bytes.TrimLeft(payload, " \t\r\n")
		if len(body) == 0 || body[0] != '[' || !json.Valid(body) {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("valid array %q does not decode: %v", body, err)
		}
		got := splitArray(body)
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, want %d", body, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%q: element %d is %q, want %q", body, i, got[i], want[i])
			}
		}
	})
}
