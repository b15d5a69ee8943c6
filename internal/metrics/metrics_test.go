package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"duet/internal/signal"
	"duet/internal/turn"
)

func TestHandler(t *testing.T) {
	sig := func() signal.Stats {
		return signal.Stats{Connected: 3, Rooms: [3]int{0, 1, 2}, Joins: 5, Fulls: 1, Byes: 2, Relayed: 40, Refused: 4, Limited: 6}
	}
	relay := func() turn.Stats {
		return turn.Stats{AllocationsActive: 2, AllocationsTotal: 9, RefusedAuth: 1, RefusedQuota: 2, RefusedQuotaIP: 7, RefusedQuotaTotal: 8, RefusedPeer: 3,
			TCPOpen: 11, RefusedTCPPerIP: 12, RefusedTCPTotal: 13, AcceptErrors: 14, DroppedToServer: 15, BytesToPeers: 1000, PacketsToPeers: 10, BytesFromPeers: 2000, PacketsFromPeers: 20,
			OffloadChannels: 4, OffloadBytesToPeers: 3000, OffloadPacketsToPeers: 30, OffloadBytesFromPeers: 4000, OffloadPacketsFromPeers: 40,
			FastChannels: 5, DroppedFast: 16}
	}
	tests := []struct {
		name  string
		src   Sources
		want  []string
		avoid []string
	}{
		{"with the relay and a reachable Redis", Sources{Signal: sig, TURN: relay, Redis: func() error { return nil }}, []string{
			"duet_redis_up 1",
			"duet_sockets_connected 3", `duet_rooms{occupancy="1"} 1`, `duet_rooms{occupancy="2"} 2`,
			"duet_joins_total 5", "duet_fulls_total 1", "duet_byes_total 2", "duet_messages_relayed_total 40",
			"duet_events_refused_total 4", "duet_limited_total 6", "duet_turn_allocations 2", "duet_turn_allocations_total 9",
			`duet_turn_refused_total{reason="quota"} 2`, `duet_turn_refused_total{reason="quota_ip"} 7`,
			`duet_turn_refused_total{reason="quota_total"} 8`, "duet_turn_tcp_connections 11",
			`duet_turn_tcp_refused_total{reason="per_ip"} 12`, `duet_turn_tcp_refused_total{reason="total"} 13`,
			"duet_turn_accept_errors_total 14", "duet_turn_dropped_to_server_total 15", `duet_turn_relayed_bytes_total{direction="from_peer"} 2000`,
			`duet_turn_relayed_packets_total{direction="to_peer"} 10`, "duet_turn_offload_channels 4",
			`duet_turn_offload_bytes_total{direction="to_peer"} 3000`, `duet_turn_offload_bytes_total{direction="from_peer"} 4000`,
			`duet_turn_offload_packets_total{direction="to_peer"} 30`, `duet_turn_offload_packets_total{direction="from_peer"} 40`,
			"duet_turn_fast_path_channels 5", "duet_turn_fast_path_dropped_total 16", "go_goroutines ", "process_resident_memory_bytes ",
		}, nil},
		{"without the relay, Redis down", Sources{Signal: sig, Redis: func() error { return errors.New("down") }}, []string{"duet_joins_total 5", "duet_redis_up 0"}, []string{"duet_turn_"}},
		{"in memory", Sources{Signal: sig}, []string{"duet_joins_total 5"}, []string{"duet_redis_up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Handler(tt.src).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
			body, _ := io.ReadAll(w.Body)
			page := string(body)
			for _, s := range tt.want {
				if !strings.Contains(page, "\n"+s) {
					t.Errorf("no %q in\n%s", s, page)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(page, s) {
					t.Errorf("unexpected %q", s)
				}
			}
		})
	}
}
