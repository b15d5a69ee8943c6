// Command duet-bench measures duet against reference servers on loopback: Socket.IO signaling load
// (against a Node.js socket.io 4.x server with the same room protocol, bench/peers/server.js), TURN
// relay throughput (against coturn, with coturn's turnutils_uclient), call set-up time in headless
// Chromium, and footprint. `make bench` runs `duet-bench suite`; BENCHMARKS.md explains the numbers.
//
//	duet-bench load  -addr 127.0.0.1:8443 -n 2000 -m 10 [-pid PID]   one signaling run against a server
//	duet-bench nodes -n 2000 -m 10 -nodes 1,2,3 [-reps 3]            signaling across duet nodes on one Redis
//	duet-bench suite [-duet bin/duet] [-out bench/results.md] [-only signal,nodes,turn,call,footprint]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: duet-bench load|nodes|suite [flags]  (-h for each)")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "load":
		err = loadCmd(ctx, os.Args[2:])
	case "nodes":
		err = nodesCmd(ctx, os.Args[2:])
	case "suite":
		err = suiteCmd(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want load, nodes or suite", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "duet-bench:", err)
		os.Exit(1)
	}
}

func loadCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	var cfg LoadConfig
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8443", "HTTPS host:port of the Socket.IO server")
	fs.IntVar(&cfg.N, "n", 200, "clients (even): N/2 rooms")
	fs.IntVar(&cfg.M, "m", 10, "messages each client sends (offer or answer, then candidates)")
	fs.IntVar(&cfg.PID, "pid", 0, "server pid, to read its CPU and RSS from /proc")
	fs.IntVar(&cfg.Sources, "sources", 8, "loopback source addresses 127.0.0.1..N to spread clients over")
	fs.IntVar(&cfg.Dials, "dials", 64, "connections opened at once")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "longest wait for one answer")
	_ = fs.Parse(args)
	res, err := RunLoad(ctx, cfg)
	printLoad(os.Stdout, "server", res)
	if err == nil && res.Errors > 0 {
		err = fmt.Errorf("%d errors", res.Errors)
	}
	return err
}
