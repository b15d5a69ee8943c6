// Package status renders /status: a page for the operator with the live numbers of /metrics in
// words (calls in progress, people waiting, TURN, refusals, uptime, version), never a room name.
package status

import (
	_ "embed"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"duet/internal/metrics"
)

// Refresh is how often the page reloads itself.
const Refresh = 5 * time.Second

// Config is what the page shows.
type Config struct {
	Sources metrics.Sources // the counters /metrics reads
	Started time.Time       // the process's start, for the uptime
	Logger  *slog.Logger
}

// css is the page's style sheet, served at /status.css: the CSP allows no inline style.
//
//go:embed status.css
var css []byte

// view is what the page shows.
type view struct {
	Refresh                int
	Calls, Waiting, Conns  int64
	TURN                   bool
	Allocations            int64
	BitsPerSecond, Relayed string
	Rooms                  string
	Refusals               []refusal
	Uptime, Version        string
}

type refusal struct {
	Code  string
	Count uint64
}

// Handler serves the page at /status (keep it behind the API keys) and its style at /status.css.
func Handler(cfg Config) http.Handler { return &handler{cfg: cfg} }

type handler struct {
	cfg Config

	mu        sync.Mutex // guards the previous TURN sample, for the bandwidth
	lastBytes uint64
	lastAt    time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/status.css" {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write(css)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(render(h.view(time.Now())))
}

func (h *handler) view(now time.Time) view {
	s := h.cfg.Sources.Signal()
	v := view{Refresh: int(Refresh / time.Second), Calls: int64(s.Rooms[2]), Waiting: int64(s.Rooms[1]),
		Conns: s.Connected, Uptime: now.Sub(h.cfg.Started).Truncate(time.Second).String(), Version: Version(), Rooms: "memory"}
	for _, code := range slices.Sorted(maps.Keys(s.RefusedBy)) {
		v.Refusals = append(v.Refusals, refusal{code, s.RefusedBy[code]})
	}
	if h.cfg.Sources.Redis != nil {
		v.Rooms = "redis ok"
		if err := h.cfg.Sources.Redis(); err != nil {
			v.Rooms = "redis down: " + err.Error()
		}
	}
	if h.cfg.Sources.TURN != nil {
		t := h.cfg.Sources.TURN()
		total := t.BytesToPeers + t.BytesFromPeers
		v.TURN, v.Allocations, v.Relayed = true, t.AllocationsActive, bytesText(total)
		h.mu.Lock()
		// Since the previous sample when it is a second old, else on average since start; a sample
		// is kept only that old, so quick reloads do not shrink the window to nothing.
		since, base := h.cfg.Started, uint64(0)
		if h.lastAt.IsZero() || now.Sub(h.lastAt) >= time.Second {
			if !h.lastAt.IsZero() && total >= h.lastBytes {
				since, base = h.lastAt, h.lastBytes
			}
			h.lastBytes, h.lastAt = total, now
		}
		h.mu.Unlock()
		if secs := now.Sub(since).Seconds(); secs > 0 {
			v.BitsPerSecond = bitsText(float64(total-base) * 8 / secs)
		}
	}
	return v
}

func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func bitsText(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}

// Version is the module version and VCS revision the binary was built from.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += " " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += " (modified)"
		}
	}
	return v
}
