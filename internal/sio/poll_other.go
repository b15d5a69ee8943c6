//go:build !linux

package sio

import "net"

// poller is Linux's epoll; elsewhere every websocket has a reader goroutine parked in its read.
type poller struct{}

type pollState struct{}

func newPoller(*workers) (*poller, error) { return nil, nil }

func (p *poller) add(*Socket, net.Conn) error { return errNoFD }
func (p *poller) rearm(*Socket) error         { return errNoFD }
func (p *poller) remove(*Socket)              {}
func (p *poller) close()                      {}
