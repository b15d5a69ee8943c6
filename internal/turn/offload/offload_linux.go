//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package offload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Offload is the loaded program, attached to its interfaces, and the channels in its maps.
type Offload struct {
	objs  bpfObjects
	links []link.Link
	ncpu  int

	mu      sync.Mutex
	closed  bool
	byAlloc map[netip.AddrPort]map[uint16]*entry // by client address: one UDP listener, one allocation each
	free    []uint32                             // counter slots not in use
	gone    Counters                             // counted by removed channels since the last Collect
}

type entry struct {
	ch   Channel
	slot uint32
	seen Counters // what Collect has already returned
}

// Load loads the program with maps sized for c.MaxChannels and attaches it to c.Interfaces.
func Load(c Config) (*Offload, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	o, err := load(c.MaxChannels)
	if err != nil {
		return nil, err
	}
	for _, name := range c.Interfaces {
		if err := o.attach(name); err != nil {
			_ = o.Close()
			return nil, err
		}
	}
	return o, nil
}

// load loads the program and its maps without attaching it anywhere.
func load(maxChannels int) (*Offload, error) {
	spec, err := loadBpf()
	if err != nil {
		return nil, fmt.Errorf("offload: %w", err)
	}
	for name, n := range map[string]int{"to_peer": maxChannels, "to_client": maxChannels,
		"channel_counters": maxChannels, "neighbors": 2 * maxChannels} {
		spec.Maps[name].MaxEntries = uint32(n)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("offload: %w", err)
	}
	o := &Offload{ncpu: ncpu, byAlloc: map[netip.AddrPort]map[uint16]*entry{}}
	if err := spec.LoadAndAssign(&o.objs, nil); err != nil {
		return nil, fmt.Errorf("offload: load: %w", err)
	}
	o.free = make([]uint32, maxChannels)
	for i := range o.free {
		o.free[i] = uint32(maxChannels - 1 - i) // slot 0 first
	}
	return o, nil
}

func (o *Offload) attach(name string) error {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	var flags link.XDPAttachFlags
	if driver(name) == "veth" {
		flags = link.XDPGenericMode // see the package comment
	}
	l, err := link.AttachXDP(link.XDPOptions{Program: o.objs.TurnOffload, Interface: ifc.Index, Flags: flags})
	if err != nil {
		return fmt.Errorf("offload: attach to %s: %w", name, err)
	}
	o.links = append(o.links, l)
	return nil
}

// driver names the interface's driver, or "" when the kernel does not say.
func driver(name string) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	info, err := unix.IoctlGetEthtoolDrvinfo(fd, name)
	if err != nil {
		return ""
	}
	return unix.ByteSliceToString(info.Driver[:])
}

// Close detaches the program and frees the maps; later calls change nothing.
func (o *Offload) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	for _, l := range o.links {
		errs = append(errs, l.Close())
	}
	errs = append(errs, o.objs.Close())
	return errors.Join(errs...)
}

// Add puts ch in the maps, both directions.
func (o *Offload) Add(ch Channel) error {
	if !ch.valid() {
		return ErrAddress
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	chans := o.byAlloc[ch.Client]
	if len(o.free) == 0 || len(chans) >= MaxPerAllocation {
		return ErrFull
	}
	if _, dup := chans[ch.Number]; dup {
		return nil // pion reports a channel once; a repeat changes nothing
	}
	slot := o.free[len(o.free)-1]
	if err := o.objs.ChannelCounters.Put(slot, make([]bpfCounters, o.ncpu)); err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	if err := o.objs.ToClient.Update(p2cKey(ch), bpfP2cVal{ServerIp: be32(ch.Server), ClientIp: be32(ch.Client),
		ServerPort: be16(ch.Server.Port()), ClientPort: be16(ch.Client.Port()), Channel: be16(ch.Number), Slot: slot}, ebpf.UpdateNoExist); err != nil {
		return fmt.Errorf("offload: %w", err)
	}
	if err := o.objs.ToPeer.Update(c2pKey(ch), bpfC2pVal{RelayIp: be32(ch.Relay), PeerIp: be32(ch.Peer),
		RelayPort: be16(ch.Relay.Port()), PeerPort: be16(ch.Peer.Port()), Slot: slot}, ebpf.UpdateNoExist); err != nil {
		_ = o.objs.ToClient.Delete(p2cKey(ch))
		return fmt.Errorf("offload: %w", err)
	}
	o.free = o.free[:len(o.free)-1]
	if chans == nil {
		chans = map[uint16]*entry{}
		o.byAlloc[ch.Client] = chans
	}
	chans[ch.Number] = &entry{ch: ch, slot: slot}
	return nil
}

// Remove takes a channel of the client's allocation out of the maps; its last counts go to Collect.
func (o *Offload) Remove(client netip.AddrPort, number uint16) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e := o.byAlloc[client][number]; e != nil {
		o.remove(e)
	}
}

// RemoveAllocation takes every channel of the client's allocation out of the maps.
func (o *Offload) RemoveAllocation(client netip.AddrPort) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.byAlloc[client] {
		o.remove(e)
	}
}

// remove deletes e's entries first, so nothing is counted after its last read; o.mu must be held.
func (o *Offload) remove(e *entry) {
	if o.closed {
		return
	}
	_ = o.objs.ToPeer.Delete(c2pKey(e.ch))
	_ = o.objs.ToClient.Delete(p2cKey(e.ch))
	o.gone.add(o.read(e.slot).minus(e.seen))
	o.free = append(o.free, e.slot)
	chans := o.byAlloc[e.ch.Client]
	delete(chans, e.ch.Number)
	if len(chans) == 0 {
		delete(o.byAlloc, e.ch.Client)
	}
}

// Collect returns what the kernel relayed since the last Collect, removed channels included.
func (o *Offload) Collect() Counters {
	o.mu.Lock()
	defer o.mu.Unlock()
	total := o.gone
	o.gone = Counters{}
	if o.closed {
		return total
	}
	for _, chans := range o.byAlloc {
		for _, e := range chans {
			now := o.read(e.slot)
			total.add(now.minus(e.seen))
			e.seen = now
		}
	}
	return total
}

// read sums a counter slot over the CPUs.
func (o *Offload) read(slot uint32) Counters {
	var per []bpfCounters
	var c Counters
	if err := o.objs.ChannelCounters.Lookup(slot, &per); err != nil {
		return c
	}
	for _, p := range per {
		c.add(Counters{p.ToPeerPackets, p.ToPeerBytes, p.FromPeerPackets, p.FromPeerBytes})
	}
	return c
}

// Entries counts the entries in the kernel's maps, client → peer and peer → client.
func (o *Offload) Entries() (toPeer, toClient int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, 0
	}
	var ck bpfC2pKey
	var cv bpfC2pVal
	for it := o.objs.ToPeer.Iterate(); it.Next(&ck, &cv); {
		toPeer++
	}
	var pk bpfP2cKey
	var pv bpfP2cVal
	for it := o.objs.ToClient.Iterate(); it.Next(&pk, &pv); {
		toClient++
	}
	return toPeer, toClient
}

func c2pKey(ch Channel) bpfC2pKey {
	return bpfC2pKey{ClientIp: be32(ch.Client), ServerIp: be32(ch.Server), ClientPort: be16(ch.Client.Port()),
		ServerPort: be16(ch.Server.Port()), Channel: be16(ch.Number)}
}

func p2cKey(ch Channel) bpfP2cKey {
	return bpfP2cKey{PeerIp: be32(ch.Peer), RelayIp: be32(ch.Relay), PeerPort: be16(ch.Peer.Port()), RelayPort: be16(ch.Relay.Port())}
}

// be32 and be16 give the value whose bytes in memory are the address or number in network order,
// as the program compares them.
func be32(a netip.AddrPort) uint32 {
	b := a.Addr().As4()
	return binary.NativeEndian.Uint32(b[:])
}

func be16(v uint16) uint16 {
	return binary.NativeEndian.Uint16(binary.BigEndian.AppendUint16(nil, v))
}
