//go:build !(linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64))

package offload

import "net/netip"

// Offload is not available on this platform; Load says so.
type Offload struct{}

// Load returns ErrUnsupported.
func Load(Config) (*Offload, error) { return nil, ErrUnsupported }

func (*Offload) Close() error                    { return nil }
func (*Offload) Add(Channel) error               { return ErrUnsupported }
func (*Offload) Remove(netip.AddrPort, uint16)   {}
func (*Offload) RemoveAllocation(netip.AddrPort) {}
func (*Offload) Collect() Counters               { return Counters{} }
func (*Offload) Entries() (toPeer, toClient int) { return 0, 0 }
