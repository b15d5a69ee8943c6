package turn

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// testBatchEnv selects Config.Batch in testConfig, so the server tests run both ways.
const testBatchEnv = "TURN_TEST_BATCH"

// TestSuiteWithoutBatching runs every other test of the package again, in a child test binary,
// with one system call per packet (--turn-batch=off); this process runs them with batching.
func TestSuiteWithoutBatching(t *testing.T) {
	const skip = "^(TestSuiteWithoutBatching|TestBatch)" // the wrapper's own tests cover both modes
	list, err := exec.Command(os.Args[0], "-test.list", ".", "-test.skip", skip).Output()
	if err != nil {
		t.Fatalf("listing the tests: %v", err)
	}
	want := 0
	for _, name := range strings.Fields(string(list)) {
		if strings.HasPrefix(name, "Test") && !strings.HasPrefix(name, "TestBatch") && name != "TestSuiteWithoutBatching" {
			want++
		}
	}
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.v", "-test.skip", skip)
	cmd.Env = append(os.Environ(), testBatchEnv+"="+ModeOff)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests with batching off: %v\n%s", err, out)
	}
	// One PASS line per top-level test: none may have been left out or skipped.
	if n := bytes.Count(out, []byte("\n--- PASS: Test")); n != want || want < 30 {
		t.Fatalf("child run passed %d top-level tests, want all %d:\n%s", n, want, out)
	}
}

// batchModes are the socket wrappers under test: batching, and the fallback pion gets with it off.
var batchModes = []string{ModeAuto, ModeOff}

// listenBatch opens a loopback UDP socket as the server would hand it to pion in mode.
func listenBatch(t testing.TB, network, mode string, size int) net.PacketConn {
	t.Helper()
	host := "127.0.0.1"
	if network == "udp6" {
		host = "::1"
	}
	pc, err := net.ListenPacket(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	tuneUDP(pc, DefaultSocketBuffer)
	s := &Server{cfg: Config{Batch: mode}}
	wrapped := s.batched(pc, size)
	t.Cleanup(func() { _ = wrapped.Close() })
	return wrapped
}

func TestBatchedFallback(t *testing.T) {
	for _, mode := range batchModes {
		pc := listenBatch(t, "udp4", mode, relayBatch)
		_, isBatch := pc.(*batchConn)
		if want := mode == ModeAuto && batchAvailable; isBatch != want {
			t.Errorf("mode %s: wrapped in batchConn = %v, want %v", mode, isBatch, want)
		}
	}
	s := startServer(t, testConfig())
	if _, isBatch := s.udp.(*batchConn); isBatch != (s.cfg.Batch == ModeAuto && batchAvailable) {
		t.Errorf("server listener batchConn = %v with Batch %q", isBatch, s.cfg.Batch)
	}
}

// packet is the i-th test payload of sender k: distinct bytes and lengths from 1 to 1200.
func packet(k, i int) []byte {
	b := make([]byte, 1+(k*131+i*17)%1200)
	for j := range b {
		b[j] = byte(k*7 + i*3 + j)
	}
	return b
}

// TestBatchManyToMany sends packets from many senders to the wrapper and from concurrent writers
// on the wrapper to many receivers, checking every one byte for byte and its address.
func TestBatchManyToMany(t *testing.T) {
	const peers, perPeer = 8, 100
	for _, network := range []string{"udp4", "udp6"} {
		for _, mode := range batchModes {
			t.Run(network+"/"+mode, func(t *testing.T) {
				pc := listenBatch(t, network, mode, listenerBatch)
				others := make([]net.PacketConn, peers)
				for k := range others {
					others[k] = listenBatch(t, network, ModeOff, 0)
				}

				// Inbound: every peer sends perPeer packets; ReadFrom must return each of them.
				for k, o := range others {
					for i := range perPeer {
						if _, err := o.WriteTo(packet(k, i), pc.LocalAddr()); err != nil {
							t.Fatal(err)
						}
					}
				}
				byPort := map[int]int{}
				for k, o := range others {
					byPort[o.LocalAddr().(*net.UDPAddr).Port] = k
				}
				next := make([]int, peers)
				buf := make([]byte, 1600)
				for range peers * perPeer {
					n, addr, err := pc.ReadFrom(buf)
					if err != nil {
						t.Fatal(err)
					}
					k, ok := byPort[addr.(*net.UDPAddr).Port]
					if !ok {
						t.Fatalf("packet from unknown %v", addr)
					}
					if want := packet(k, next[k]); !bytes.Equal(buf[:n], want) {
						t.Fatalf("peer %d packet %d: got %d bytes, want %d", k, next[k], n, len(want))
					}
					next[k]++
				}

				// Outbound: one writer per peer, all at once; nothing may stay queued once they return.
				var wg sync.WaitGroup
				for k, o := range others {
					wg.Go(func() {
						for i := range perPeer {
							if _, err := pc.WriteTo(packet(k, i), o.LocalAddr()); err != nil {
								t.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				for k, o := range others {
					for i := range perPeer {
						got, ok := recvNow(t, o)
						if !ok {
							t.Fatalf("peer %d: packet %d not delivered when every WriteTo had returned", k, i)
						}
						if want := packet(k, i); !bytes.Equal(got, want) {
							t.Fatalf("peer %d packet %d: got %d bytes, want %d", k, i, len(got), len(want))
						}
					}
				}
			})
		}
	}
}

// recvNow reads one packet without waiting: on loopback a datagram is queued at the receiver
// before sendto/sendmmsg returns, so "not there yet" means "not sent".
func recvNow(t *testing.T, pc net.PacketConn) ([]byte, bool) {
	t.Helper()
	raw, err := pc.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n := -1
	var rerr error
	if err := raw.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if errors.Is(rerr, syscall.EAGAIN) {
		return nil, false
	}
	if rerr != nil {
		t.Fatal(rerr)
	}
	return buf[:n], true
}

// TestBatchLoneWriteNotDelayed: a single packet is on the wire when WriteTo returns.
func TestBatchLoneWriteNotDelayed(t *testing.T) {
	for _, mode := range batchModes {
		pc := listenBatch(t, "udp4", mode, listenerBatch)
		peer := listenBatch(t, "udp4", ModeOff, 0)
		for i := range 3 {
			want := packet(1, i)
			if n, err := pc.WriteTo(want, peer.LocalAddr()); err != nil || n != len(want) {
				t.Fatalf("%s: WriteTo = %d, %v", mode, n, err)
			}
			got, ok := recvNow(t, peer)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("%s: packet %d not delivered by the time WriteTo returned (got %v)", mode, i, ok)
			}
		}
	}
}

func TestBatchCloseUnblocksReader(t *testing.T) {
	for _, mode := range batchModes {
		pc := listenBatch(t, "udp4", mode, listenerBatch)
		done := make(chan error)
		go func() {
			_, _, err := pc.ReadFrom(make([]byte, 1600))
			done <- err
		}()
		_ = pc.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s: ReadFrom after Close: %v, want net.ErrClosed", mode, err)
		}
		if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s: WriteTo after Close: %v, want net.ErrClosed", mode, err)
		}
	}
}

// TestBatchWriteErrorSkipsOnePacket: a packet the kernel refuses is dropped, the batch goes on.
func TestBatchWriteErrorSkipsOnePacket(t *testing.T) {
	pc := listenBatch(t, "udp4", ModeAuto, listenerBatch)
	peer := listenBatch(t, "udp4", ModeOff, 0)
	bc, ok := pc.(*batchConn)
	if !ok {
		t.Fatalf("no batchConn with batchAvailable %v", batchAvailable)
	}
	ms := newMessages(3)
	for i := range ms {
		ms[i].Buffers[0] = ms[i].Buffers[0][:copy(ms[i].Buffers[0], packet(2, i))]
		ms[i].Addr = peer.LocalAddr()
	}
	ms[1].Addr = &net.UDPAddr{IP: net.ParseIP("::1"), Port: 9} // an IPv6 address on an IPv4 socket
	if err := bc.send(ms); err == nil {
		t.Fatal("send reported no error for the refused packet")
	}
	for _, i := range []int{0, 2} {
		got, ok := recvNow(t, peer)
		if !ok || !bytes.Equal(got, packet(2, i)) {
			t.Fatalf("packet %d after the refused one: delivered %v", i, ok)
		}
	}
}

// TestBatchNoAllocs: the write path allocates nothing per packet; a read allocates no more than
// a plain UDP read does (the source address, which pion keeps). Under -race x/net's sync.Pool of
// sendmmsg headers is emptied at random, which costs at most one allocation per write.
func TestBatchNoAllocs(t *testing.T) {
	allocs := map[string]float64{}
	for _, mode := range batchModes {
		pc := listenBatch(t, "udp4", mode, listenerBatch)
		peer := listenBatch(t, "udp4", ModeOff, 0)
		p, to := packet(3, 3), peer.LocalAddr()
		allocs[mode+" write"] = testing.AllocsPerRun(200, func() { _, _ = pc.WriteTo(p, to) })
		buf := make([]byte, 1600)
		from := pc.LocalAddr()
		for range 201 {
			_, _ = peer.WriteTo(p, from)
		}
		allocs[mode+" read"] = testing.AllocsPerRun(200, func() { _, _, _ = pc.ReadFrom(buf) })
	}
	t.Logf("allocations per packet: %v", allocs)
	wantWrite := 0.0
	if raceEnabled {
		wantWrite = 1
	}
	if allocs["auto write"] > wantWrite {
		t.Errorf("batched WriteTo allocates %v per packet, want at most %v", allocs["auto write"], wantWrite)
	}
	if allocs["auto read"] > allocs["off read"] {
		t.Errorf("batched ReadFrom allocates %v per packet, plain %v", allocs["auto read"], allocs["off read"])
	}
}

// BenchmarkBatchWrite is the cost of one relayed packet's WriteTo on the listener, with as many
// concurrent writers as GOMAXPROCS (pion writes from every allocation's goroutine). ns/op = per packet.
func BenchmarkBatchWrite(b *testing.B) {
	for _, size := range []int{160, 1000} {
		for _, mode := range batchModes {
			b.Run(fmt.Sprintf("%dB/%s", size, mode), func(b *testing.B) {
				pc := listenBatch(b, "udp4", mode, listenerBatch)
				sink := listenBatch(b, "udp4", ModeOff, 0) // never read: the kernel drops what overflows
				to := sink.LocalAddr()
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					p := make([]byte, size)
					for pb.Next() {
						if _, err := pc.WriteTo(p, to); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkBatchRead is the cost of one ReadFrom when packets are queued, as under relay load.
// ns/op = per packet; the queue is refilled with the timer stopped every readChunk packets.
func BenchmarkBatchRead(b *testing.B) {
	const readChunk = 256
	for _, size := range []int{160, 1000} {
		for _, mode := range batchModes {
			b.Run(fmt.Sprintf("%dB/%s", size, mode), func(b *testing.B) {
				pc := listenBatch(b, "udp4", mode, listenerBatch)
				src := listenBatch(b, "udp4", ModeOff, 0)
				p, buf, to := make([]byte, size), make([]byte, 1600), pc.LocalAddr()
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if i%readChunk == 0 {
						b.StopTimer()
						for range readChunk {
							_, _ = src.WriteTo(p, to)
						}
						b.StartTimer()
					}
					if _, _, err := pc.ReadFrom(buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
