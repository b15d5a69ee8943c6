package status

import (
	"strings"
	"testing"
	"time"

	"duet/internal/metrics"
	"duet/internal/signal"
	"duet/internal/turn"
)

func TestUnits(t *testing.T) {
	for _, tc := range []struct {
		bytes uint64
		want  string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {5 << 20, "5.0 MiB"}, {3 << 30, "3.0 GiB"}} {
		if got := bytesText(tc.bytes); got != tc.want {
			t.Errorf("bytesText(%d) = %q, want %q", tc.bytes, got, tc.want)
		}
	}
	for _, tc := range []struct {
		bps  float64
		want string
	}{{0, "0 bit/s"}, {999, "999 bit/s"}, {1500, "1.5 kbit/s"}, {2.5e6, "2.5 Mbit/s"}, {1.2e9, "1.2 Gbit/s"}} {
		if got := bitsText(tc.bps); got != tc.want {
			t.Errorf("bitsText(%v) = %q, want %q", tc.bps, got, tc.want)
		}
	}
}

// TestBandwidth: the rate is over the time since the previous view, or since start for the first.
func TestBandwidth(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	var relayed uint64
	h := &handler{cfg: Config{Started: start, Sources: metrics.Sources{
		Signal: func() signal.Stats { return signal.Stats{} },
		TURN:   func() turn.Stats { return turn.Stats{BytesToPeers: relayed / 2, BytesFromPeers: relayed / 2} },
	}}}
	steps := []struct {
		at      time.Duration
		relayed uint64
		want    string
	}{
		{10 * time.Second, 1_250_000, "1.0 Mbit/s"},                      // 10 Mbit over 10 s since start
		{12 * time.Second, 1_750_000, "2.0 Mbit/s"},                      // 4 Mbit over the 2 s since the last view
		{12*time.Second + 500*time.Millisecond, 1_750_000, "1.1 Mbit/s"}, // too soon for a sample: 14 Mbit since start
		{13 * time.Second, 2_000_000, "2.0 Mbit/s"},                      // 2 Mbit over the 1 s since the kept sample
	}
	for i, s := range steps {
		relayed = s.relayed
		if got := h.view(start.Add(s.at)).BitsPerSecond; got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name        string
		v           view
		want, avoid []string
	}{
		{"relay on, refusals, a hostile error text", view{Refresh: 5, Calls: 2, Waiting: 1, Conns: 5, TURN: true, Allocations: 4,
			BitsPerSecond: "1.0 Mbit/s", Relayed: "3.0 MiB", Rooms: `redis down: <script>x</script> & "more"`, Uptime: "1m0s", Version: "(devel)",
			Refusals: []refusal{{"not_in_room", 3}, {"room_full", 1}}}, []string{
			`<meta http-equiv="refresh" content="5">`, `<td id="calls">2</td>`, `<td id="waiting">1</td>`, `<td id="connections">5</td>`,
			`<td id="allocations">4</td>`, `<td id="bandwidth">1.0 Mbit/s</td>`, `<th>Relayed since start</th><td>3.0 MiB</td>`,
			`<td>redis down: &lt;script&gt;x&lt;/script&gt; &amp; &#34;more&#34;</td>`, `<table id="refusals">`,
			`<th>not_in_room</th><td>3</td>`, `<th>room_full</th><td>1</td>`, `<th>Version</th><td>(devel)</td>`, "Reloads every 5 s.",
		}, []string{"<script>", "None since start", "embedded relay off"}},
		{"relay off, no refusals", view{Refresh: 5, Rooms: "memory"}, []string{
			`<th>TURN</th><td>embedded relay off</td>`, "<p>None since start.</p>", `<th>Rooms kept in</th><td>memory</td>`,
		}, []string{`id="allocations"`, `id="refusals"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := string(render(tt.v))
			for _, s := range tt.want {
				if !strings.Contains(page, s) {
					t.Errorf("no %s in\n%s", s, page)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(page, s) {
					t.Errorf("%s in\n%s", s, page)
				}
			}
		})
	}
}
