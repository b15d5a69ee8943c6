//go:build !linux

package turn

import "net"

// setBuffers uses the portable setters; there is no way to read the granted size back here.
func setBuffers(uc *net.UDPConn, size int) bufferResult {
	if err := uc.SetReadBuffer(size); err != nil {
		return bufferResult{err: err}
	}
	if err := uc.SetWriteBuffer(size); err != nil {
		return bufferResult{err: err}
	}
	return bufferResult{rcv: size, snd: size}
}

// openFileLimit is not read here; the caps stay as configured.
func openFileLimit() (uint64, bool) { return 0, false }
