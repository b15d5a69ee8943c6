#!/usr/bin/env bash
# Installs duet as a systemd service on Debian or Ubuntu. Run as root from a checkout, after `make build`:
#
#   sudo scripts/install.sh [BINARY]        # BINARY defaults to bin/duet of this checkout
#
# It puts the binary in /usr/local/bin, creates the `duet` system user, installs /etc/duet/duet.yaml
# (only when there is none: an existing config is never overwritten), the systemd unit, and a sysctl
# file for the relay's 4 MiB socket buffers, then enables and starts the service. Running it again
# upgrades the binary and the unit and restarts a running service.
#
# DESTDIR=/some/root puts every file under that prefix instead and leaves the system alone: no user is
# created, no sysctl applied, no systemctl run. The tests use this.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$here/bin/duet}"
destdir="${DESTDIR:-}"
destdir="${destdir%/}"

unit_src="$here/configs/duet.service"
config_src="$here/configs/duet.yaml"

bin_dst="$destdir/usr/local/bin/duet"
config_dir="$destdir/etc/duet"
config_dst="$config_dir/duet.yaml"
unit_dst="$destdir/etc/systemd/system/duet.service"
sysctl_dst="$destdir/etc/sysctl.d/60-duet.conf"
sysctl_path="/etc/sysctl.d/60-duet.conf"

# The relay asks for buffers of this size (--turn-socket-buffer); the kernel caps them at rmem_max/wmem_max.
socket_buffer=4194304

say() { printf 'duet install: %s\n' "$*"; }
die() { printf 'duet install: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$bin" && -x "$bin" ]] || die "no executable at $bin (run \`make build\` first, or pass the binary's path)"
[ -f "$unit_src" ] || die "missing $unit_src"
[ -f "$config_src" ] || die "missing $config_src"
if [[ -z "$destdir" && "$EUID" -ne 0 ]]; then
	die "run as root (sudo $0 $*), or set DESTDIR to install into a directory"
fi

# Ownership flags for files the service reads: root owns them, the duet group may read them.
# Under DESTDIR there is no duet group (and maybe no root), so files keep the caller's ownership.
owner=()
if [ -z "$destdir" ]; then
	owner=(-o root -g duet)
fi

# 1. The service account: a system user with no home and no login shell.
if [ -n "$destdir" ]; then
	say "DESTDIR set: not creating the duet user and group"
else
	if ! getent group duet >/dev/null; then
		groupadd --system duet
		say "created system group duet"
	fi
	if ! getent passwd duet >/dev/null; then
		useradd --system --gid duet --no-create-home --home-dir /var/lib/duet \
			--shell /usr/sbin/nologin --comment "duet video call server" duet
		say "created system user duet"
	fi
fi

# 2. The binary. install(1) replaces the file rather than writing into it, so a running duet is unharmed.
install -D -m 0755 "$bin" "$bin_dst"
say "installed $bin_dst"

# 3. The config: root:duet 0640, since it holds the TURN secret. Never overwrite an existing one.
install -d -m 0750 "${owner[@]}" "$config_dir"
if [ -e "$config_dst" ]; then
	say "kept the existing $config_dst (compare with $config_src for new settings)"
else
	install -m 0640 "${owner[@]}" "$config_src" "$config_dst"
	say "installed $config_dst: set domain, public-ip and turn-secret in it"
fi

# 4. The systemd unit, replaced on every run; local changes belong in `systemctl edit duet`.
install -D -m 0644 "$unit_src" "$unit_dst"
say "installed $unit_dst"

# 5. Socket buffer limits for the relay, persistent across reboots.
install -d -m 0755 "$(dirname "$sysctl_dst")"
cat >"$sysctl_dst.tmp" <<EOF
# Written by duet's scripts/install.sh. The embedded TURN relay asks for ${socket_buffer}-byte socket
# buffers (--turn-socket-buffer); the kernel silently caps them at these limits (212992 by default),
# which drops relayed media under load.
net.core.rmem_max = ${socket_buffer}
net.core.wmem_max = ${socket_buffer}
EOF
chmod 0644 "$sysctl_dst.tmp"
mv -f "$sysctl_dst.tmp" "$sysctl_dst"
say "wrote $sysctl_dst"
if [ -n "$destdir" ]; then
	say "DESTDIR set: not applying $sysctl_path"
elif sysctl -q -p "$sysctl_path"; then
	say "applied $sysctl_path"
else
	say "warning: could not apply $sysctl_path (a container?); relayed media may lose packets under load"
fi

# 6. Enable and start the service, or restart it so a new binary and unit take effect.
if [ -n "$destdir" ]; then
	say "DESTDIR set: not running systemctl"
elif [ ! -d /run/systemd/system ]; then
	say "systemd is not running here (a container?): not enabling the service; start it with"
	say "  sudo -u duet /usr/local/bin/duet --config /etc/duet/duet.yaml"
else
	systemctl daemon-reload
	if systemctl is-active --quiet duet; then
		systemctl enable duet
		systemctl restart duet
		say "restarted duet"
	else
		systemctl enable --now duet
		say "enabled and started duet"
	fi
	say "status: systemctl status duet    logs: journalctl -u duet -f"
fi

# 7. What is left to do by hand.
cat <<'EOF'

Open these ports in the VM's firewall and in the cloud provider's security group / firewall rules:
  TCP 443            the call page, Socket.IO and /api (HTTPS, the `listen` setting)
  TCP 80             Let's Encrypt HTTP-01 challenge and the redirect to HTTPS (when `domain` is set)
  UDP and TCP 3478   the embedded TURN/STUN relay
  UDP 49152-65535    relayed media (the `relay-ports` setting)

Then, in /etc/duet/duet.yaml:
  domain      the name browsers use (Let's Encrypt certificate), with listen: ":443"
  public-ip   the VM's public IP: on a cloud VM behind 1:1 NAT (AWS, GCP, Azure, ...) the machine
              only sees its private address, and without this relayed calls fail
  turn-secret a long random string (openssl rand -hex 32)
and: sudo systemctl restart duet
EOF
