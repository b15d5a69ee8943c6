//go:build !linux

package fastpath

import (
	"net"
	"net/netip"
)

// Loop is Linux's; elsewhere New refuses and the relay reads its sockets with goroutines.
type Loop struct{}

// Conn is Linux's.
type Conn struct{ net.PacketConn }

func New(*net.UDPConn) (*Loop, error)           { return nil, ErrUnsupported }
func (*Loop) Listener() *Conn                   { return nil }
func (*Loop) Relay(*net.UDPConn) (*Conn, error) { return nil, ErrUnsupported }
func (*Loop) Add(Channel) error                 { return ErrUnsupported }
func (*Loop) Remove(netip.AddrPort, uint16)     {}
func (*Loop) Channels() int                     { return 0 }
func (*Loop) Collect() Counters                 { return Counters{} }
func (*Loop) Close() error                      { return nil }
