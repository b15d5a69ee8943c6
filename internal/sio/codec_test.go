package sio

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
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
		// What a server sends a client: room events, an ack id it never asked for.
		{`2["joined","r","abc"]`, "/", -1, []string{`"r"`, `"abc"`}},
		{`212["bye","r","x"]`, "/", 12, []string{`"r"`, `"x"`}},
	}
	for _, tt := range tests {
		e, err := decodeEvent([]byte(tt.in))
		if err != nil {
			t.Fatalf("decodeEvent(%s): %v", tt.in, err)
		}
		if e.Nsp != tt.nsp || e.ID != tt.id {
			t.Errorf("decodeEvent(%s): nsp %q id %v", tt.in, e.Nsp, e.ID)
		}
		if len(e.Args) != len(tt.args) {
			t.Fatalf("decodeEvent(%s): %d args, want %d", tt.in, len(e.Args), len(tt.args))
		}
		for i, want := range tt.args {
			if got := string(e.Args[i]); got != want {
				t.Errorf("decodeEvent(%s) arg %d = %s, want %s", tt.in, i, got, want)
			}
		}
	}
}

func TestDecodeEventRefuses(t *testing.T) {
	for _, in := range []string{
		`2`, `2[]`, `2{}`, `2[1]`, `2[null,"x"]`, `2["disconnect"]`, `2["connect","x"]`, `2["join",`,
		`2/chat["join"]`, `2123456789012345678901["join"]`, `299999999999999999999["join"]`, `2["join"]x`,
		`2[1,2]`, `0{"sid":"x"}`,
	} {
		if e, err := decodeEvent([]byte(in)); err == nil {
			t.Errorf("decodeEvent(%s) = %+v, want an error", in, e)
		}
	}
}

// TestRelayIsByteForByte sends a payload through decoding and the encoder a relay uses.
func TestRelayIsByteForByte(t *testing.T) {
	payload := `{"type":"answer","sdp":"v=0\r\na=x:<&>\u00e9","label":1.50,"e":1e3,"z":{"b":[1,2],"a":null}}`
	e, err := decodeEvent([]byte(`2["message","room1",` + payload + `]`))
	if err != nil {
		t.Fatal(err)
	}
	out := appendEvent(nil, "message", []any{"room1", e.Args[1]})
	if want := `42["message","room1",` + payload + `]`; string(out) != want {
		t.Fatalf("relayed %s, want %s", out, want)
	}
}

func TestEncodeStrings(t *testing.T) {
	tests := []struct {
		name string
		args []any
		want string
	}{
		{"joined", []any{"room1", "AbC-_09"}, `42["joined","room1","AbC-_09"]`},
		{"e", []any{`q"<`}, `42["e","q\"\u003c"]`},
		{"error", []any{json.RawMessage(`{"event":"join","code":"x"}`)}, `42["error",{"event":"join","code":"x"}]`},
	}
	for _, tt := range tests {
		if got := appendEvent(nil, tt.name, tt.args); string(got) != tt.want {
			t.Errorf("appendEvent(%s, %v) = %s, want %s", tt.name, tt.args, got, tt.want)
		}
	}
}

// FuzzEvent feeds arbitrary packets through the decoder: no panic, and what decodes re-encodes to
// the same arguments.
func FuzzEvent(f *testing.F) {
	for _, s := range []string{
		`2["join","room1"]`, `2["message","r",{"type":"offer","sdp":"x"}]`, `2/a,1["leave","r"]`,
		`2["message","r",null]`, `2["join",42]`, `2[`, `2["message","r",{"a":"\ud800"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) == 0 || frame[0] != '2' {
			frame = append([]byte{'2'}, frame...)
		}
		if !utf8.Valid(frame) { // refused by the engine before it reaches the codec
			return
		}
		e, err := decodeEvent(frame)
		if err != nil {
			return
		}
		args := make([]any, len(e.Args))
		for i, a := range e.Args {
			args[i] = a
		}
		out := appendEvent(nil, e.Name, args)
		again, err := decodeEvent(out[1:])
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", out, err)
		}
		if again.Name != e.Name || len(again.Args) != len(e.Args) {
			t.Fatalf("re-encoded %q: %q with %d args, want %q with %d", out, again.Name, len(again.Args), e.Name, len(e.Args))
		}
		for i, a := range again.Args {
			if !bytes.Equal(a, e.Args[i]) {
				t.Fatalf("argument %d changed: %s → %s", i, e.Args[i], a)
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

var benchCandidateFrame = []byte(`2["message","bench-room_1",{"type":"candidate","label":0,"id":"0","candidate":"candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Qz7b network-id 1 network-cost 10"}]`)

// BenchmarkRelayCandidate is the codec's per-message work on the relay path: decode the sender's
// event, encode the event for the peer.
func BenchmarkRelayCandidate(b *testing.B) {
	b.SetBytes(int64(len(benchCandidateFrame)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := decodeEvent(benchCandidateFrame)
		if err != nil {
			b.Fatal(err)
		}
		args := []any{"bench-room_1", e.Args[1]}
		if out := appendEvent(make([]byte, 0, eventLen(e.Name, args)), e.Name, args); len(out) == 0 {
			b.Fatal("empty")
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeEvent(benchCandidateFrame); err != nil {
			b.Fatal(err)
		}
	}
}
