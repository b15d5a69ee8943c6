// Package metrics exposes duet's counters in the Prometheus text format at /metrics.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"duet/internal/signal"
	"duet/internal/turn"
)

// Sources are the snapshots a scrape reads; TURN is nil when the embedded relay is off, Redis nil
// when rooms are kept in memory.
type Sources struct {
	Signal func() signal.Stats
	TURN   func() turn.Stats
	Redis  func() error
}

// Handler serves the metrics, with Go runtime and process metrics.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collector{src})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("duet_"+name, help, labels, nil)
}

var (
	socketsDesc  = desc("sockets_connected", "Socket.IO connections open now.")
	roomsDesc    = desc("rooms", "Rooms by the number of people in them.", "occupancy")
	joinsDesc    = desc("joins_total", "Successful joins.")
	fullsDesc    = desc("fulls_total", "Joins refused because the room held two people.")
	byesDesc     = desc("byes_total", "Byes sent: a peer left or disconnected.")
	relayedDesc  = desc("messages_relayed_total", "Messages relayed to a peer.")
	refusedDesc  = desc("events_refused_total", "Events answered with an error event.")
	refusedBy    = desc("events_refused_by_code_total", "Events answered with an error event, by its code.", "code")
	limitedDesc  = desc("limited_total", "Connections and events over the per-IP limits.")
	allocsDesc   = desc("turn_allocations", "TURN allocations open now.")
	allocsTotal  = desc("turn_allocations_total", "TURN allocations ever made.")
	turnRefused  = desc("turn_refused_total", "TURN requests refused.", "reason")
	turnBytes    = desc("turn_relayed_bytes_total", "Payload bytes relayed.", "direction")
	turnPackets  = desc("turn_relayed_packets_total", "Packets relayed.", "direction")
	offChannels  = desc("turn_offload_channels", "TURN channels relayed by the kernel now (--turn-offload).")
	offBytes     = desc("turn_offload_bytes_total", "Payload bytes relayed by the kernel, not in turn_relayed_bytes_total.", "direction")
	offPackets   = desc("turn_offload_packets_total", "Packets relayed by the kernel, not in turn_relayed_packets_total.", "direction")
	turnTCPDesc  = desc("turn_tcp_connections", "TURN TCP/TLS connections open now.")
	turnTCPRef   = desc("turn_tcp_refused_total", "TURN TCP/TLS connections closed on accept, over a cap.", "reason")
	turnAcceptEr = desc("turn_accept_errors_total", "Failed accepts on the TURN TCP/TLS listeners (e.g. out of file descriptors).")
	turnToServer = desc("turn_dropped_to_server_total", "Client packets the relay dropped: aimed at the server's own addresses outside the relay port range.")
	fastChannels = desc("turn_fast_path_channels", "TURN channels the user-space fast path relays now (--turn-batch).")
	fastDropped  = desc("turn_fast_path_dropped_total", "Datagrams the fast path dropped: a send the kernel refused (no route, a full socket buffer).")
	redisUpDesc  = desc("redis_up", "1 when the shared room store (Redis) is reachable and this node registered in it.")
	descriptions = []*prometheus.Desc{socketsDesc, roomsDesc, joinsDesc, fullsDesc, byesDesc, relayedDesc,
		refusedDesc, refusedBy, limitedDesc, allocsDesc, allocsTotal, turnRefused, turnBytes, turnPackets, offChannels, offBytes, offPackets,
		turnTCPDesc, turnTCPRef, turnAcceptEr, turnToServer, fastChannels, fastDropped, redisUpDesc}
)

// collector reads one snapshot of each source per scrape, so the values of a scrape agree.
type collector struct{ src Sources }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descriptions {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	s := c.src.Signal()
	gauge(socketsDesc, float64(s.Connected))
	for n := 1; n < len(s.Rooms); n++ {
		gauge(roomsDesc, float64(s.Rooms[n]), strconv.Itoa(n))
	}
	counter(joinsDesc, s.Joins)
	counter(fullsDesc, s.Fulls)
	counter(byesDesc, s.Byes)
	counter(relayedDesc, s.Relayed)
	counter(refusedDesc, s.Refused)
	for code, n := range s.RefusedBy {
		counter(refusedBy, n, code)
	}
	counter(limitedDesc, s.Limited)
	if c.src.Redis != nil {
		up := 0.0
		if c.src.Redis() == nil {
			up = 1
		}
		gauge(redisUpDesc, up)
	}
	if c.src.TURN == nil {
		return
	}
	t := c.src.TURN()
	gauge(allocsDesc, float64(t.AllocationsActive))
	counter(allocsTotal, t.AllocationsTotal)
	counter(turnRefused, t.RefusedAuth, "auth")
	counter(turnRefused, t.RefusedQuota, "quota")
	counter(turnRefused, t.RefusedQuotaIP, "quota_ip")
	counter(turnRefused, t.RefusedQuotaTotal, "quota_total")
	counter(turnRefused, t.RefusedPeer, "peer")
	counter(turnBytes, t.BytesToPeers, "to_peer")
	counter(turnBytes, t.BytesFromPeers, "from_peer")
	counter(turnPackets, t.PacketsToPeers, "to_peer")
	counter(turnPackets, t.PacketsFromPeers, "from_peer")
	gauge(offChannels, float64(t.OffloadChannels))
	counter(offBytes, t.OffloadBytesToPeers, "to_peer")
	counter(offBytes, t.OffloadBytesFromPeers, "from_peer")
	counter(offPackets, t.OffloadPacketsToPeers, "to_peer")
	counter(offPackets, t.OffloadPacketsFromPeers, "from_peer")
	gauge(turnTCPDesc, float64(t.TCPOpen))
	counter(turnTCPRef, t.RefusedTCPPerIP, "per_ip")
	counter(turnTCPRef, t.RefusedTCPTotal, "total")
	counter(turnAcceptEr, t.AcceptErrors)
	counter(turnToServer, t.DroppedToServer)
	gauge(fastChannels, float64(t.FastChannels))
	counter(fastDropped, t.DroppedFast)
}
