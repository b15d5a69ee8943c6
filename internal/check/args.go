package check

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// options are the command line of `duet check`.
type options struct {
	base     string // https://host[:port], no path
	host     string // the name or address of the server, no brackets
	port     string
	room     string
	insecure bool
	json     bool
	verbose  bool
	timeout  time.Duration
	callTime time.Duration
}

var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// errUsage marks a command line that cannot run; Main answers it with exit code 2.
var errUsage = errors.New("usage")

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("duet check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.room, "room", "", "room name for the signaling and call steps (default: a fresh random one)")
	fs.BoolVar(&o.insecure, "insecure", false, "accept an untrusted (e.g. self-signed) certificate, reporting it")
	fs.BoolVar(&o.json, "json", false, "print a machine-readable report on stdout")
	fs.BoolVar(&o.verbose, "verbose", false, "log the libraries' debug output on stderr")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "time limit of each step")
	callSeconds := fs.Float64("call-seconds", 3, "how long the test call sends media")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: duet check [flags] https://call.example.org")
		fs.PrintDefaults()
	}

	// Flags may come before or after the URL, so parse again after each positional argument.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	bad := func(format string, a ...any) (options, error) {
		fmt.Fprintf(stderr, "duet check: "+format+"\n", a...)
		fs.Usage()
		return o, errUsage
	}
	if len(positional) != 1 {
		return bad("want exactly one URL, got %d arguments", len(positional))
	}
	if o.timeout <= 0 || *callSeconds <= 0 {
		return bad("--timeout and --call-seconds must be positive")
	}
	o.callTime = time.Duration(*callSeconds * float64(time.Second))
	if o.room == "" {
		o.room = "duet-check-" + strings.ToLower(rand.Text()[:10])
	}
	if !roomName.MatchString(o.room) {
		return bad("--room: 1 to 64 characters of A-Z a-z 0-9 - _, got %q", o.room)
	}
	var err error
	if o.base, o.host, o.port, err = target(positional[0]); err != nil {
		return bad("%v", err)
	}
	return o, nil
}

// target normalises the URL: https only (duet serves nothing else), default port 443, path dropped.
func target(raw string) (base, host, port string, err error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("bad URL %q: %v", raw, err)
	}
	if u.Scheme != "https" {
		return "", "", "", fmt.Errorf("duet serves HTTPS only: use https://%s", u.Host)
	}
	host, port = u.Hostname(), u.Port()
	if host == "" {
		return "", "", "", fmt.Errorf("no host in %q", raw)
	}
	if port == "" {
		port = "443"
	}
	base = "https://" + net.JoinHostPort(host, port)
	if port == "443" {
		base = strings.TrimSuffix(base, ":443")
	}
	return base, host, port, nil
}

func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
