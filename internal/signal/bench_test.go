package signal

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/zishang520/socket.io/parsers/socket/v3/parser"

	"duet/internal/room"
)

var benchCandidateFrame = []byte(`2["message","bench-room_1",{"type":"candidate","label":0,"id":"0","candidate":"candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Qz7b network-id 1 network-cost 10"}]`)

// benchCandidatePayload is the payload object inside benchCandidateFrame.
var benchCandidatePayload = json.RawMessage(benchCandidateFrame[bytes.IndexByte(benchCandidateFrame, '{') : len(benchCandidateFrame)-1])

// BenchmarkRelayCandidate is the per-message work of the raw parser on the relay path: decode the
// sender's event, validate room and payload, encode the event for the peer.
func BenchmarkRelayCandidate(b *testing.B) {
	enc := rawParser{}.NewEncoder()
	b.SetBytes(int64(len(benchCandidateFrame)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodeEvent(benchCandidateFrame)
		if err != nil {
			b.Fatal(err)
		}
		args := p.Data.([]any)[1:]
		name, r := roomArg("message", args)
		if r != nil {
			b.Fatal(r)
		}
		data, r := payloadArg("message", args)
		if r != nil {
			b.Fatal(r)
		}
		out := enc.Encode(&parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"message", name, data}})
		if len(out) != 1 {
			b.Fatal("want one frame")
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

func BenchmarkEncodeCandidate(b *testing.B) {
	enc := rawParser{}.NewEncoder()
	data := benchCandidatePayload
	b.ReportAllocs()
	for b.Loop() {
		enc.Encode(&parser.Packet{Type: parser.EVENT, Nsp: "/", Data: []any{"message", "bench-room_1", data}})
	}
}

func BenchmarkRoomArg(b *testing.B) {
	args := []any{json.RawMessage(`"bench-room_1"`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, r := roomArg("join", args); r != nil {
			b.Fatal(r)
		}
	}
}

func BenchmarkPayloadArg(b *testing.B) {
	args := []any{json.RawMessage(`"bench-room_1"`), benchCandidatePayload}
	b.ReportAllocs()
	for b.Loop() {
		if _, r := payloadArg("message", args); r != nil {
			b.Fatal(r)
		}
	}
}

// fullRooms is a room table of n rooms r0…, each holding its members rNa and rNb.
func fullRooms(n int) *room.Rooms {
	rs := room.New()
	for i := range n {
		name := "r" + strconv.Itoa(i)
		_, _ = rs.Join(name, room.Member(name+"a"))
		_, _ = rs.Join(name, room.Member(name+"b"))
	}
	return rs
}

// BenchmarkRoomsJoinPeerLeave runs one pair through the room table while 5 000 other rooms are full.
func BenchmarkRoomsJoinPeerLeave(b *testing.B) {
	rs := fullRooms(5000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rs.Join("bench", "a"); err != nil {
			b.Fatal(err)
		}
		if _, err := rs.Join("bench", "b"); err != nil {
			b.Fatal(err)
		}
		if p, err := rs.Peer("bench", "a"); err != nil || p != "b" {
			b.Fatal(p, err)
		}
		_, _ = rs.Leave("bench", "a")
		_, _ = rs.Leave("bench", "b")
	}
}

// BenchmarkRoomsPeer is the lookup every relayed message does.
func BenchmarkRoomsPeer(b *testing.B) {
	rs := fullRooms(5000)
	b.ReportAllocs()
	for b.Loop() {
		if p, err := rs.Peer("r4321", "r4321a"); err != nil || p != "r4321b" {
			b.Fatal(p, err)
		}
	}
}
