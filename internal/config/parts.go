package config

import (
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	"duet/internal/access"
	"duet/internal/redishub"
	"duet/internal/signal"
	"duet/internal/turn"
	"duet/internal/webhook"
)

// The parts of duet are built here from the settings, and their own Validate checks them when the
// settings are loaded: each rule is written once, by the part it belongs to. (The relay's is run by
// cmd/duet once the TLS certificate exists.)

// validateParts checks what the parts check themselves, before anything starts.
func (c Config) validateParts() error {
	discard := slog.New(slog.DiscardHandler)
	invites, _, err := c.Invites()
	if err != nil {
		return fmt.Errorf("--invite-secret: %w", err)
	}
	errs := []error{c.Signal(invites, nil, discard).Validate()}
	if c.WebhookURL != "" {
		errs = append(errs, c.webhookConfig(discard).Validate())
	}
	if c.RedisURL != "" {
		errs = append(errs, c.redisConfig(discard).Validate())
	}
	return errors.Join(errs...)
}

// Signal returns the signaling server's settings; invites verifies invite tokens, hooks (nil for
// none) hears about rooms.
func (c Config) Signal(invites *access.Signer, hooks *webhook.Sender, log *slog.Logger) signal.Config {
	cfg := signal.DefaultConfig()
	cfg.Access.Rooms, cfg.Access.Signer = c.Rooms, invites
	cfg.Webhooks = hooks
	cfg.Limits = signal.Limits{ConnRate: c.ConnRate, EventRate: c.EventRate, MaxConnPerIP: c.MaxConnPerIP}
	cfg.MaxConns = c.MaxConns
	cfg.AllowedOrigins = c.AllowedOrigins
	cfg.Logger = log.With("component", "signal")
	return cfg
}

// Invites returns the invite signer: --invite-secret, or a random key drawn at start-up (generated
// is true), which no other node shares and no restart keeps.
func (c Config) Invites() (signer *access.Signer, generated bool, err error) {
	key := []byte(c.InviteSecret)
	if len(key) == 0 {
		key, generated = []byte(rand.Text()+rand.Text()), true
	}
	signer, err = access.NewSigner(key)
	return signer, generated, err
}

// Webhooks starts the webhook sender, or returns nil without --webhook-url.
func (c Config) Webhooks(log *slog.Logger) (*webhook.Sender, error) {
	if c.WebhookURL == "" {
		return nil, nil
	}
	return webhook.New(c.webhookConfig(log))
}

func (c Config) webhookConfig(log *slog.Logger) webhook.Config {
	return webhook.Config{URL: c.WebhookURL, Secret: []byte(c.WebhookSecret), Logger: log.With("component", "webhook")}
}

// Redis makes the shared room hub (not connected yet), or returns nil without --redis-url.
func (c Config) Redis(log *slog.Logger) (*redishub.Hub, error) {
	if c.RedisURL == "" {
		return nil, nil
	}
	return redishub.New(c.redisConfig(log))
}

func (c Config) redisConfig(log *slog.Logger) redishub.Config {
	return redishub.Config{URL: c.RedisURL, Logger: log.With("component", "redis")}
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
		ChannelLifetime:     c.TURNChannelLife,
		SocketBuffer:        c.TURNSocketBuffer,
		Batch:               c.TURNBatch,
		Offload:             c.TURNOffload,
		Logger:              log.With("component", "turn"),
	}, generated
}
