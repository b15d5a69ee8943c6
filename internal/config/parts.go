package config

import (
	"crypto/rand"
	"crypto/tls"
	"log/slog"

	"duet/internal/signal"
	"duet/internal/turn"
)

// Signal returns the signaling server's settings.
func (c Config) Signal(log *slog.Logger) signal.Config {
	cfg := signal.DefaultConfig()
	cfg.Limits = signal.Limits{ConnRate: c.ConnRate, EventRate: c.EventRate, MaxConnPerIP: c.MaxConnPerIP}
	cfg.MaxConns = c.MaxConns
	cfg.AllowedOrigins = c.AllowedOrigins
	cfg.Logger = log.With("component", "signal")
	return cfg
}

// TURN returns the relay's settings. Without --turn-secret it draws a random secret (generated is
// true), so credentials from one run never work on the next.
func (c Config) TURN(tlsConfig *tls.Config, log *slog.Logger) (cfg turn.Config, generated bool) {
	secret := []byte(c.TURNSecret)
	if len(secret) == 0 {
		secret, generated = []byte(rand.Text()), true
	}
	return turn.Config{
		Listen:              c.TURNListen,
		TLSListen:           c.TURNSListen,
		TLSConfig:           tlsConfig,
		PublicIP:            c.PublicIP,
		RelayMinPort:        c.RelayPorts.Min,
		RelayMaxPort:        c.RelayPorts.Max,
		Realm:               c.Realm,
		Secret:              secret,
		TTL:                 c.TURNTTL,
		URLs:                c.TURNURLs,
		AllowPeers:          c.TURNAllowPeers,
		MaxAllocations:      c.TURNMaxAllocations,
		MaxAllocationsPerIP: c.TURNMaxAllocPerIP,
		MaxAllocationsTotal: c.TURNMaxAllocTotal,
		MaxTCPPerIP:         c.TURNMaxTCPPerIP,
		MaxTCPTotal:         c.TURNMaxTCPTotal,
		TCPHandshakeTimeout: c.TURNTCPHandshake,
		TCPIdleTimeout:      c.TURNTCPIdle,
		SocketBuffer:        c.TURNSocketBuffer,
		Batch:               c.TURNBatch,
		Offload:             c.TURNOffload,
		Logger:              log.With("component", "turn"),
	}, generated
}
