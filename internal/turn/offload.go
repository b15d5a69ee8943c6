package turn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"

	"duet/internal/turn/offload"
)

var errNoOffloadInterface = errors.New("turn: no interface to offload on (the listener is on loopback or IPv6 only)")

// startOffload loads the kernel relay in ModeAuto mode. Nothing to attach to is a debug line; a
// refusal is one line, info for missing capabilities (the shipped systemd unit grants none), else a
// warning (an old kernel, an interface taken by another XDP program); the relay stays in user space.
func (s *Server) startOffload(listen netip.Addr) {
	if s.cfg.Offload != ModeAuto {
		return
	}
	ifaces, err := offloadInterfaces(listen)
	if err != nil {
		s.log.Debug("turn: kernel offload off, relaying in user space", "reason", err)
		return
	}
	k, err := offload.Load(offload.Config{Interfaces: ifaces, MaxChannels: s.maxAllocTotal * offload.MaxPerAllocation})
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, os.ErrPermission) {
			level = slog.LevelInfo
		}
		s.log.Log(context.Background(), level, "turn: kernel offload refused, relaying in user space", "interfaces", ifaces, "reason", err)
		return
	}
	s.offload, s.offloadIfaces = k, ifaces
}

// offloadInterfaces names the up, non-loopback interfaces that hold listen, or any IPv4 address
// when listen is the wildcard.
func offloadInterfaces(listen netip.Addr) ([]string, error) {
	if listen.IsValid() && (!listen.Is4() || listen.IsLoopback()) {
		return nil, errNoOffloadInterface
	}
	ifcs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("turn: offload: %w", err)
	}
	var names []string
	for _, ifc := range ifcs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err == nil && p.Addr().Is4() && (!listen.IsValid() || listen.IsUnspecified() || p.Addr() == listen) {
				names = append(names, ifc.Name)
				break
			}
		}
	}
	if len(names) == 0 {
		return nil, errNoOffloadInterface
	}
	return names, nil
}

// offloadChannel puts a channel in the kernel's maps when it is IPv4 throughout.
func (s *Server) offloadChannel(client, r, p netip.AddrPort, number uint16) {
	if s.offload == nil || !client.Addr().Is4() || !p.Addr().Is4() {
		return
	}
	ch := offload.Channel{
		Client: client,
		Server: netip.AddrPortFrom(s.sourceFor(s.listenHost, client), s.udpPort),
		Relay:  netip.AddrPortFrom(s.sourceFor(s.listenHost, p), r.Port()), // relay sockets bind the listener's IP
		Peer:   p,
		Number: number,
	}
	if err := s.offload.Add(ch); err != nil {
		s.log.Debug("turn: channel stays in user space", "client", client, "peer", p, "channel", number, "reason", err)
	}
}

// sourceFor is the address this host sends to dst from: the bound one, or for a wildcard socket
// what the kernel picks by route, as it does for the user-space relay's replies.
func (s *Server) sourceFor(bound netip.Addr, dst netip.AddrPort) netip.Addr {
	if bound.IsValid() && !bound.IsUnspecified() {
		return bound
	}
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(dst)) // connecting sends nothing
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// unoffloadAllocation is pion's OnAllocationDeleted: whatever channels remain go with it.
func (s *Server) unoffloadAllocation(src, _ net.Addr, protocol, _, _ string) {
	if s.offload != nil && protocol == "UDP" {
		s.offload.RemoveAllocation(udpAddrPort(src))
	}
}

// collectOffload adds what the kernel relayed since the last call to the counters.
func (s *Server) collectOffload() {
	if s.offload == nil {
		return
	}
	c := s.offload.Collect()
	s.stats.offloadPacketsToPeers.Add(c.PacketsToPeers)
	s.stats.offloadBytesToPeers.Add(c.BytesToPeers)
	s.stats.offloadPacketsFromPeers.Add(c.PacketsFromPeers)
	s.stats.offloadBytesFromPeers.Add(c.BytesFromPeers)
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
