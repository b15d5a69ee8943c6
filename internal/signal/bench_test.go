package signal

import (
	"encoding/json"
	"strconv"
	"testing"

	"duet/internal/room"
)

// benchCandidatePayload is a typical trickled candidate.
var benchCandidatePayload = json.RawMessage(`{"type":"candidate","label":0,"id":"0","candidate":"candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.2 rport 54321 generation 0 ufrag Qz7b network-id 1 network-cost 10"}`)

func BenchmarkRoomArg(b *testing.B) {
	args := []json.RawMessage{json.RawMessage(`"bench-room_1"`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, r := roomArg("join", args); r != nil {
			b.Fatal(r)
		}
	}
}

func BenchmarkPayloadArg(b *testing.B) {
	args := []json.RawMessage{json.RawMessage(`"bench-room_1"`), benchCandidatePayload}
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
