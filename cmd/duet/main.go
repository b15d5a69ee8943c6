// Command duet is a 1-to-1 video call server: the call page over HTTPS, Socket.IO room signaling and
// an embedded TURN relay, in one process. main only wires the packages together.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"duet/internal/acceptlog"
	"duet/internal/acme"
	"duet/internal/api"
	"duet/internal/certs"
	"duet/internal/check"
	"duet/internal/config"
	"duet/internal/metrics"
	"duet/internal/redishub"
	sig "duet/internal/signal"
	"duet/internal/status"
	"duet/internal/tlsmux"
	"duet/internal/turn"
	"duet/internal/web"
	client "duet/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "check" { // duet check URL: test a deployment from outside
		code := check.Main(ctx, os.Args[2:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "duet:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args, env []string, logTo io.Writer) error {
	started := time.Now()
	cfg, err := config.Load(args, env)
	if err != nil {
		return err
	}
	log := cfg.Logger(logTo)

	tlsConfig, plain, selfSigned, err := certificates(cfg, log)
	if err != nil {
		return err
	}

	turnConfig, generated := cfg.TURN(tlsConfig, log)
	if generated {
		log.Info("generated a random TURN secret; set --turn-secret to keep credentials valid across restarts and nodes")
	}
	if err := turnConfig.Validate(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	// net/http retries failed accepts itself, but reports them only to ErrorLog, kept at debug.
	ln = acceptlog.Listener{Listener: ln, R: acceptlog.New(log, "https")}
	var mux *tlsmux.Mux
	if cfg.TURNSOnHTTPSPort() {
		mux = tlsmux.New(ln, tlsmux.Config{TLS: withHTTPProtos(tlsConfig), Logger: log.With("component", "tlsmux")})
		turnConfig.TLSListener = mux.TURN()
		go func() { _ = mux.Serve() }()
		defer mux.Close()
	}
	var relay *turn.Server
	var relayStats func() turn.Stats
	if turnConfig.Enabled() {
		if relay, err = turn.New(turnConfig); err != nil {
			return err
		}
		defer relay.Close()
		relayStats = relay.Stats
	}

	invites, generated, err := cfg.Invites()
	if err != nil {
		return err
	}
	if generated {
		log.Info("generated a random invite signing key; set --invite-secret to keep invite links valid across restarts and nodes")
	}
	hooks, err := cfg.Webhooks(log)
	if err != nil {
		return err
	}
	sigConfig := cfg.Signal(invites, hooks, log)
	var redisHealth func() error
	shared, err := cfg.Redis(log)
	if err != nil {
		return err
	}
	if shared != nil {
		redishub.DriverLogs(log)
		sigConfig.Hub, redisHealth = shared.Open, shared.Healthy
	}
	signaling, err := sig.New(sigConfig)
	if err != nil {
		return err
	}
	sources := metrics.Sources{Signal: signaling.Stats, TURN: relayStats, Redis: redisHealth}
	metricsHandler := metrics.Handler(sources)
	var apiHandler, statusPage http.Handler
	if len(cfg.APIKeys) > 0 {
		if apiHandler, err = api.New(api.Config{Keys: cfg.APIKeys, Signer: invites}); err != nil {
			return err
		}
		statusPage = status.Handler(status.Config{Sources: sources, Started: started, Logger: log.With("component", "status")})
	}
	handler := web.New(web.Config{
		Files:  client.Files,
		Signal: signaling.Handler(),
		ICEServers: func(host string) any {
			return turnConfig.ICEServers(host, rand.Text(), time.Now())
		},
		Health: func() map[string]any {
			return map[string]any{"signal": "ok", "turn": relayHealth(relay, turnConfig), "rooms": roomsHealth(redisHealth)}
		},
		Metrics:      metricsHandler,
		MetricsToken: cfg.MetricsToken,
		ICERate:      cfg.ICERate,
		HSTS:         !selfSigned,
		API:          apiHandler,
		Status:       statusPage,
		APIKeys:      cfg.APIKeys,
		EmbedOrigins: cfg.EmbedOrigins,
		Logger:       log.With("component", "http"),
	})

	if cfg.PprofListen != "" {
		go servePrivate("pprof", cfg.PprofListen, pprofMux(), log)
	}
	if cfg.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metricsHandler)
		go servePrivate("metrics", cfg.MetricsListen, mux, log)
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second, // a client trickling its headers is cut off (slowloris)
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // websockets clear these deadlines once upgraded
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug), // TLS handshake noise from the internet
	}
	log.Info("https listening", "addr", ln.Addr().String(), "turns", mux != nil)
	served := make(chan error, 2)
	if mux != nil {
		go func() { served <- srv.Serve(mux.Web()) }() // the mux did the TLS handshake
	} else {
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	}
	if plain != nil {
		go func() { served <- plain.ListenAndServe() }()
		log.Info("http listening for the ACME challenge and the redirect to https", "addr", plain.Addr)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	drain, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting first, so pages that reconnect at once find the next process, not this one.
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(drain) }()
	if mux != nil {
		_ = mux.Close() // TURN over TLS stops accepting too; its connections end with the relay
	}
	if plain != nil {
		_ = plain.Shutdown(drain)
	}
	signaling.Close()
	if hooks != nil { // after signaling, which feeds it; what is queued gets the drain's remaining time
		hooks.Close(drain)
	}
	if err := <-shut; err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}

// certificates returns the TLS config: Let's Encrypt for --domain (with the plain HTTP server its
// challenge needs), the given files, or a self-signed certificate for localhost.
func certificates(cfg config.Config, log *slog.Logger) (tlsConfig *tls.Config, plain *http.Server, selfSigned bool, err error) {
	if len(cfg.Domains) == 0 {
		tlsConfig, selfSigned, err = certs.Load(cfg.TLSCert, cfg.TLSKey)
		if selfSigned {
			log.Info("made a self-signed certificate for localhost, 127.0.0.1 and ::1; browsers will warn (use --domain or --tls-cert/--tls-key for a real one)")
		}
		return tlsConfig, nil, selfSigned, err
	}
	_, port, _ := net.SplitHostPort(cfg.Listen)
	httpsPort, _ := strconv.Atoi(port)
	m, err := acme.New(acme.Config{
		Domains:      cfg.Domains,
		CacheDir:     filepath.Join(cfg.StateDir, "acme"),
		DirectoryURL: cfg.ACMEDirectory,
		HTTPSPort:    httpsPort,
		Logger:       log.With("component", "acme"),
	})
	if err != nil {
		return nil, nil, false, err
	}
	plain = &http.Server{
		Addr:              cfg.HTTPListen,
		Handler:           m.HTTPHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	return m.TLSConfig(), plain, false, nil
}

// withHTTPProtos adds the HTTP protocols ServeTLS would offer to a clone of t, for the mux that
// does the handshake in net/http's stead; acme-tls/1 stays when Let's Encrypt put it there.
func withHTTPProtos(t *tls.Config) *tls.Config {
	t = t.Clone()
	for _, p := range []string{"h2", "http/1.1"} {
		if !slices.Contains(t.NextProtos, p) {
			t.NextProtos = append(t.NextProtos, p)
		}
	}
	return t
}

// pprofMux is Go's profiler, for benchmarks and diagnosis.
func pprofMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// servePrivate serves h over plain HTTP apart from the public listener, on an address the
// operator keeps private (loopback, an internal network).
func servePrivate(what, addr string, h http.Handler, log *slog.Logger) {
	log.Info(what+" listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error(what, "err", err)
	}
}

// roomsHealth says where rooms are kept and whether that store answers.
func roomsHealth(redis func() error) string {
	switch {
	case redis == nil:
		return "memory"
	case redis() != nil:
		return "redis down: " + redis().Error()
	default:
		return "redis ok"
	}
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
