package turn

import (
	"net"
)

// bufferResult is what the kernel granted; Linux reports double the requested value.
type bufferResult struct {
	rcv, snd int
	err      error
}

// capped reports whether the kernel gave less than asked (e.g. rmem_max without root).
func (r bufferResult) capped(want int) bool {
	return r.err == nil && (r.rcv < want || r.snd < want)
}

// tuneUDP enlarges a UDP socket's buffers; media bursts overflow the ~212 KB default.
// It never fails the caller: problems are only reported in the result.
func tuneUDP(pc net.PacketConn, size int) bufferResult {
	uc, ok := pc.(*net.UDPConn)
	if !ok || size <= 0 {
		return bufferResult{rcv: size, snd: size}
	}
	return setBuffers(uc, size)
}
