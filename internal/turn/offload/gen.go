package offload

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -tags linux -target bpfel -type c2p_key -type c2p_val -type p2c_key -type p2c_val -type counters -type neighbor bpf offload.c -- -O2 -g -Wall -I/usr/include/x86_64-linux-gnu
