#!/bin/bash
# Counts one relay's system calls, context switches and CPU over one turnutils_uclient run (BENCHMARKS.md §2).
# usage: scripts/relay-perfstat.sh duet|coturn   (M, N, L set uclient's -m, -n, -l; needs perf and coturn)
set -euo pipefail
side=$1
port=$((20000 + RANDOM % 10000))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if [ "$side" = duet ]; then
  bin/duet --listen 127.0.0.1:0 --turn-listen 127.0.0.1:$port --turn-secret bench-secret --public-ip 127.0.0.1 \
    --turn-allow-peer 127.0.0.0/8 --relay-ports 40000-49999 --turn-max-allocations 100000 \
    --turn-max-allocations-per-ip 100000 --turn-max-allocations-total 100000 --log-level error >"$dir/log" 2>&1 &
else
  turnserver -n --use-auth-secret --static-auth-secret bench-secret --realm duet --listening-ip 127.0.0.1 \
    --listening-port $port --relay-ip 127.0.0.1 --allow-loopback-peers --no-cli --no-tls --no-dtls \
    --min-port 50000 --max-port 59999 --pidfile "$dir/pid" --log-file stdout --simple-log --db "$dir/turndb" >"$dir/log" 2>&1 &
fi
pid=$!
sleep 1
perf stat -e 'context-switches,cpu-migrations,task-clock,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_sendto,syscalls:sys_enter_recvmsg,syscalls:sys_enter_nanosleep' \
  -p $pid -o "$dir/stat" &
stat=$!
sleep 0.2
turnutils_uclient -y -c -m "${M:-40}" -n "${N:-1000}" -l "${L:-1000}" -z 0 -W bench-secret -u u -p $port 127.0.0.1 2>&1 |
  grep -o 'tot_recv_msgs=[0-9]*' | tail -1
kill -INT $stat; wait $stat || true
kill $pid; wait $pid 2>/dev/null || true
grep -v '^#' "$dir/stat" | grep -v '^$' | grep -v '<not'
