package turn

import (
	"errors"
	"net"

	"duet/internal/turn/fastpath"
)

// startFast hands the UDP listener to the fast path in ModeAuto (Config.Batch); pion then reads
// it through the fast path's Conn. Where there is none (not Linux), pion reads the socket itself.
func (s *Server) startFast(pc net.PacketConn) net.PacketConn {
	uc, ok := pc.(*net.UDPConn)
	if !ok || s.cfg.Batch != ModeAuto {
		return pc
	}
	l, err := fastpath.New(uc)
	if err != nil {
		if !errors.Is(err, fastpath.ErrUnsupported) {
			s.log.Warn("turn: fast path refused, pion reads the sockets", "reason", err)
		}
		return pc
	}
	s.fast = l
	return l.Listener()
}

// fastRelay hands a relay socket with its relayed address to the fast path, if it runs; on an
// error the socket is closed.
func (s *Server) fastRelay(pc net.PacketConn, relayed *net.UDPAddr) (net.PacketConn, error) {
	uc, ok := pc.(*net.UDPConn)
	if s.fast == nil || !ok {
		return pc, nil
	}
	c, err := s.fast.Relay(uc, relayed.AddrPort())
	if err != nil {
		_ = uc.Close()
		return nil, err
	}
	return c, nil
}

// channelCreated is pion's OnChannelCreated. A channel of a UDP allocation goes to the fast path
// and, toward another host, to the kernel where it can. Toward this host's other ports it stays
// with pion (relayConn drops those or hands them to the allocation owning the port).
func (s *Server) channelCreated(src, _ net.Addr, protocol, _, _ string, relay, peer net.Addr, number uint16) {
	client, p, r := udpAddrPort(src), udpAddrPort(peer), udpAddrPort(relay)
	_, own := s.ownIPs[p.Addr()]
	hairpin := own && p.Port() >= s.cfg.RelayMinPort && p.Port() <= s.cfg.RelayMaxPort
	if protocol != "UDP" || own && !hairpin {
		return
	}
	if s.fast != nil {
		if err := s.fast.Add(fastpath.Channel{Client: client, Relay: r, Peer: p, Number: number, Hairpin: hairpin}); err != nil {
			s.log.Debug("turn: channel stays with pion", "client", client, "peer", p, "channel", number, "reason", err)
		}
	}
	if !own {
		s.offloadChannel(client, r, p, number)
	}
}

// channelDeleted is pion's OnChannelDeleted (a channel expired, or its allocation ended).
func (s *Server) channelDeleted(src, _ net.Addr, protocol, _, _ string, _, _ net.Addr, number uint16) {
	if protocol != "UDP" {
		return
	}
	if s.fast != nil {
		s.fast.Remove(udpAddrPort(src), number)
	}
	if s.offload != nil {
		s.offload.Remove(udpAddrPort(src), number)
	}
}

// collectFast adds what the fast path relayed since the last call to the counters.
func (s *Server) collectFast() {
	if s.fast == nil {
		return
	}
	c := s.fast.Collect()
	s.stats.packetsToPeers.Add(c.PacketsToPeers)
	s.stats.bytesToPeers.Add(c.BytesToPeers)
	s.stats.packetsFromPeers.Add(c.PacketsFromPeers)
	s.stats.bytesFromPeers.Add(c.BytesFromPeers)
	s.stats.droppedFast.Add(c.Dropped)
}

// closeFast stops the fast path's goroutine once pion and the sockets are closed.
func (s *Server) closeFast() {
	if s.fast == nil {
		return
	}
	s.collectFast()
	_ = s.fast.Close()
}
