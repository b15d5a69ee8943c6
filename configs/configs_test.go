package configs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	unitFile    = "duet.service"
	configFile  = "duet.yaml"
	installFile = "../scripts/install.sh"

	// shutdownTimeout is duet's default --shutdown-timeout; systemd must wait longer than that.
	shutdownTimeout = 10 * time.Second
)

// unit is a parsed systemd unit: section → key → values in file order (a key may repeat).
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value inside a section: %q", path, n, line)
			}
			if strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: continuation lines are not expected in this unit", path, n)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the single value of section/key, failing when it is missing or set twice.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs := u[section][key]
	if len(vs) != 1 {
		t.Fatalf("[%s] %s: want exactly one value, got %q", section, key, vs)
	}
	return vs[0]
}

func TestUnitHardening(t *testing.T) {
	u := parseUnit(t, unitFile)
	for _, want := range []struct{ section, key, value string }{
		{"Unit", "After", "network-online.target"},
		{"Unit", "Wants", "network-online.target"},
		{"Service", "ExecStart", "/usr/local/bin/duet --config /etc/duet/duet.yaml"},
		{"Service", "User", "duet"},
		{"Service", "Group", "duet"},
		{"Service", "AmbientCapabilities", "CAP_NET_BIND_SERVICE"},
		{"Service", "CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "ProtectKernelTunables", "yes"},
		{"Service", "ProtectKernelModules", "yes"},
		{"Service", "ProtectKernelLogs", "yes"},
		{"Service", "ProtectControlGroups", "yes"},
		{"Service", "RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX AF_NETLINK"},
		{"Service", "RestrictNamespaces", "yes"},
		{"Service", "LockPersonality", "yes"},
		{"Service", "MemoryDenyWriteExecute", "yes"},
		{"Service", "SystemCallArchitectures", "native"},
		{"Service", "StateDirectory", "duet"},
		{"Service", "ConfigurationDirectory", "duet"},
		{"Service", "Restart", "on-failure"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Service", "LimitNOFILE", "65536"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u.one(t, want.section, want.key); got != want.value {
			t.Errorf("[%s] %s=%s, want %s", want.section, want.key, got, want.value)
		}
	}

	// systemd must give duet's graceful shutdown time to finish before it sends SIGKILL.
	stop := u.one(t, "Service", "TimeoutStopSec")
	d, err := time.ParseDuration(stop)
	if err != nil {
		secs, err2 := strconv.Atoi(stop) // a bare number is seconds to systemd
		if err2 != nil {
			t.Fatalf("TimeoutStopSec=%s: %v", stop, err)
		}
		d = time.Duration(secs) * time.Second
	}
	if d <= shutdownTimeout || d > shutdownTimeout+30*time.Second {
		t.Errorf("TimeoutStopSec=%s, want a little above the %s shutdown timeout", stop, shutdownTimeout)
	}
}

// TestUnitVerify runs systemd's own parser over the unit. ExecStart must name an existing binary for
// `systemd-analyze verify` to pass, so it checks a copy whose ExecStart runs `true` instead. A
// deliberately broken copy must be reported, so the check cannot pass by ignoring everything.
func TestUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd); cannot verify duet.service")
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	const exec0 = "ExecStart=/usr/local/bin/duet "
	if !bytes.Contains(orig, []byte(exec0)) {
		t.Fatalf("%s has no %q line", unitFile, exec0)
	}
	runnable := bytes.Replace(orig, []byte(exec0), []byte("ExecStart="+truePath+" "), 1)

	for _, tc := range []struct {
		name   string
		unit   []byte
		wantOK bool
	}{
		{"as shipped", runnable, true},
		{"misspelt key", append(slices.Clip(runnable), "ProtectSystm=strict\n"...), false},
		{"bad value", bytes.Replace(runnable, []byte("ProtectSystem=strict"), []byte("ProtectSystem=very"), 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "duet.service")
			if err := os.WriteFile(path, tc.unit, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
			// systemd-analyze exits 0 on unknown keys and bad values, only printing them, so any
			// output about the unit counts as a failure.
			var complaints []string
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "duet.service") {
					complaints = append(complaints, strings.TrimSpace(line))
				}
			}
			ok := err == nil && len(complaints) == 0
			if ok != tc.wantOK {
				t.Errorf("systemd-analyze verify: ok=%v, want %v; err=%v, output:\n%s", ok, tc.wantOK, err, out)
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is not installed; install it with `sudo apt-get install shellcheck` (needed to check scripts/install.sh)")
	}
	out, err := exec.Command(sc, "--shell=bash", "--severity=style", installFile).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck %s: %v\n%s", installFile, err, out)
	}
}

// install runs scripts/install.sh into destdir with the given binary and returns its output.
func install(t *testing.T, destdir, binary string) (string, error) {
	t.Helper()
	cmd := exec.Command(installFile, binary)
	cmd.Env = append(os.Environ(), "DESTDIR="+destdir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFake(t *testing.T, dir, name, body string, mode fs.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallIntoDestdir(t *testing.T) {
	bins := t.TempDir()
	v1 := writeFake(t, bins, "duet-v1", "#!/bin/sh\necho duet v1\n", 0o755)
	v2 := writeFake(t, bins, "duet-v2", "#!/bin/sh\necho duet v2\n", 0o755)
	root := t.TempDir()

	unitSrc, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	configSrc, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	edited := append(slices.Clip(configSrc), "public-ip: 203.0.113.10\n"...)

	check := func(t *testing.T, binary string, config []byte) {
		t.Helper()
		binBody, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			path string
			mode fs.FileMode
			body []byte // nil: checked elsewhere
		}{
			{"usr/local/bin/duet", 0o755, binBody},
			{"etc/duet", fs.ModeDir | 0o750, nil},
			{"etc/duet/duet.yaml", 0o640, config},
			{"etc/systemd/system/duet.service", 0o644, unitSrc},
			{"etc/sysctl.d/60-duet.conf", 0o644, nil},
		} {
			p := filepath.Join(root, f.path)
			st, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", f.path, err)
				continue
			}
			if st.Mode() != f.mode {
				t.Errorf("%s: mode %v, want %v", f.path, st.Mode(), f.mode)
			}
			if f.body != nil {
				if got, _ := os.ReadFile(p); !bytes.Equal(got, f.body) {
					t.Errorf("%s: content differs from its source", f.path)
				}
			}
		}

		// Nothing else is left behind (no temporary files, no state directory systemd makes itself).
		var files []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, p)
				files = append(files, rel)
			}
			return err
		})
		want := []string{"etc/duet/duet.yaml", "etc/sysctl.d/60-duet.conf", "etc/systemd/system/duet.service", "usr/local/bin/duet"}
		if !slices.Equal(files, want) {
			t.Errorf("files under DESTDIR: %q, want %q", files, want)
		}

		sysctl, err := os.ReadFile(filepath.Join(root, "etc/sysctl.d/60-duet.conf"))
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]string{}
		for line := range strings.Lines(string(sysctl)) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf("60-duet.conf: not key = value: %q", line)
				continue
			}
			values[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		for _, key := range []string{"net.core.rmem_max", "net.core.wmem_max"} {
			if values[key] != "4194304" {
				t.Errorf("60-duet.conf: %s = %q, want 4194304", key, values[key])
			}
		}
		if len(values) != 2 {
			t.Errorf("60-duet.conf sets %v, want only rmem_max and wmem_max", values)
		}

		// The installed unit starts the installed binary with the installed config.
		args := strings.Fields(parseUnit(t, filepath.Join(root, "etc/systemd/system/duet.service")).one(t, "Service", "ExecStart"))
		if len(args) != 3 || args[1] != "--config" {
			t.Fatalf("ExecStart=%q, want BINARY --config FILE", args)
		}
		for _, p := range []string{args[0], args[2]} {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("ExecStart names %s, which install.sh did not install: %v", p, err)
			}
		}
	}

	t.Run("first", func(t *testing.T) {
		out, err := install(t, root, v1)
		if err != nil {
			t.Fatalf("install.sh: %v\n%s", err, out)
		}
		for _, msg := range []string{
			"not creating the duet user", "not applying", "not running systemctl",
			"TCP 80", "TCP 443", "UDP and TCP 3478", "UDP 49152-65535", "public-ip",
		} {
			if !strings.Contains(out, msg) {
				t.Errorf("output lacks %q:\n%s", msg, out)
			}
		}
		check(t, v1, configSrc)
	})

	// The user edits the config, then upgrades: the binary is replaced, the config kept.
	if err := os.WriteFile(filepath.Join(root, "etc/duet/duet.yaml"), edited, 0o640); err != nil {
		t.Fatal(err)
	}
	t.Run("again", func(t *testing.T) {
		out, err := install(t, root+"/", v2) // a trailing slash on DESTDIR is fine too
		if err != nil {
			t.Fatalf("install.sh: %v\n%s", err, out)
		}
		if !strings.Contains(out, "kept the existing") {
			t.Errorf("output does not say the config was kept:\n%s", out)
		}
		check(t, v2, edited)
	})
}

func TestInstallRefuses(t *testing.T) {
	bins := t.TempDir()
	notExec := writeFake(t, bins, "duet", "#!/bin/sh\n", 0o644)
	for _, tc := range []struct {
		name, binary, want string
	}{
		{"missing binary", filepath.Join(bins, "nope"), "no executable at"},
		{"not executable", notExec, "no executable at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			out, err := install(t, root, tc.binary)
			if err == nil {
				t.Fatalf("install.sh succeeded, want an error:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			if entries, _ := os.ReadDir(root); len(entries) > 0 {
				t.Errorf("install.sh wrote into DESTDIR before failing")
			}
		})
	}
	t.Run("not root without DESTDIR", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("running as root: install.sh would really install")
		}
		cmd := exec.Command(installFile, writeFake(t, bins, "duet-x", "#!/bin/sh\n", 0o755))
		cmd.Env = append(os.Environ(), "DESTDIR=")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "run as root") {
			t.Errorf("install.sh as non-root: err=%v, want a 'run as root' refusal:\n%s", err, out)
		}
	})
}

// TestInstallScriptAccount checks what the DESTDIR run cannot: how the service account is made.
func TestInstallScriptAccount(t *testing.T) {
	b, err := os.ReadFile(installFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(installFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", installFile)
	}
	script := string(b)
	for _, want := range []string{
		"set -euo pipefail",
		"useradd --system",
		"--no-create-home",
		"--shell /usr/sbin/nologin",
		"systemctl daemon-reload",
		"systemctl enable --now duet",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("%s lacks %q", installFile, want)
		}
	}
}
