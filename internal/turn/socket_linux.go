//go:build linux

package turn

import (
	"net"
	"syscall"
)

// setBuffers tries SO_*BUFFORCE (works as root past rmem_max/wmem_max), then the capped SO_*BUF.
func setBuffers(uc *net.UDPConn, size int) bufferResult {
	raw, err := uc.SyscallConn()
	if err != nil {
		return bufferResult{err: err}
	}
	var res bufferResult
	cerr := raw.Control(func(fd uintptr) {
		set := func(force, plain int) {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, force, size) != nil {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, plain, size)
			}
		}
		set(syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF)
		set(syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF)
		// The kernel doubles the value for bookkeeping; halve to compare with the request.
		rcv, err1 := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		snd, err2 := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		res = bufferResult{rcv: rcv / 2, snd: snd / 2}
		if err1 != nil {
			res.err = err1
		} else if err2 != nil {
			res.err = err2
		}
	})
	if cerr != nil {
		return bufferResult{err: cerr}
	}
	return res
}

// openFileLimit is the soft RLIMIT_NOFILE (Go raises it to the hard limit at start).
func openFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, false
	}
	return r.Cur, true
}
