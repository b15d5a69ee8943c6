// Command duet is a 1-to-1 video call server: the call page over HTTPS, Socket.IO room signaling and
// an embedded TURN relay, in one process. main only wires the packages together.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"duet/internal/certs"
	"duet/internal/config"
	sig "duet/internal/signal"
	"duet/internal/turn"
	"duet/internal/web"
	client "duet/web"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "duet:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := config.Load(args, os.Environ())
	if err != nil {
		return err
	}
	log := cfg.Logger(os.Stderr)

	tlsConfig, selfSigned, err := certs.Load(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return err
	}
	if selfSigned {
		log.Info("made a self-signed certificate for localhost, 127.0.0.1 and ::1; browsers will warn (use --tls-cert/--tls-key for a real one)")
	}

	turnConfig, generated := cfg.TURN(tlsConfig, log)
	if generated {
		log.Info("generated a random TURN secret; set --turn-secret to keep credentials valid across restarts and nodes")
	}
	if err := turnConfig.Validate(); err != nil {
		return err
	}
	var relay *turn.Server
	if turnConfig.Enabled() {
		if relay, err = turn.New(turnConfig); err != nil {
			return err
		}
		defer relay.Close()
	}

	sigConfig := sig.DefaultConfig()
	sigConfig.Logger = log.With("component", "signal")
	signaling := sig.New(sigConfig)
	handler := web.New(web.Config{
		Files:  client.Files,
		Signal: signaling.Handler(),
		ICEServers: func(host string) any {
			return turnConfig.ICEServers(host, rand.Text(), time.Now())
		},
		Health: func() map[string]any {
			return map[string]any{"signal": "ok", "turn": relayHealth(relay, turnConfig)}
		},
		Logger: log.With("component", "http"),
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
	}
	log.Info("https listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err := <-served:
		return err
	case s := <-stop:
		log.Info("shutting down", "signal", s.String())
	}
	signaling.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// relayHealth says whether the embedded relay runs, or which external one is handed out.
func relayHealth(relay *turn.Server, c turn.Config) string {
	switch {
	case relay != nil:
		return "ok"
	case len(c.URLs) > 0:
		return "external"
	default:
		return "disabled"
	}
}
