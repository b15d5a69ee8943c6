//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package offload

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// The program is run on packets by the kernel (BPF_PROG_TEST_RUN), whose ingress is loopback (ifindex 1).
const (
	loIndex  = 1
	xdpTX    = 3
	xdpPass  = 2
	xdpRedir = 4
)

var (
	macHost = [6]byte{2, 0, 0, 0, 0, 1}
	macGW   = [6]byte{2, 0, 0, 0, 0, 2}
	testCh  = Channel{
		Client: netip.MustParseAddrPort("198.18.1.2:40000"),
		Server: netip.MustParseAddrPort("198.18.0.1:3478"),
		Relay:  netip.MustParseAddrPort("198.18.0.1:50000"),
		Peer:   netip.MustParseAddrPort("198.18.2.2:5004"),
		Number: 0x4001,
	}
)

// packet builds an Ethernet frame with a correct IPv4 header and UDP checksum; extra bytes may follow.
func packet(src, dst netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 14+20+8+len(payload))
	copy(b[0:6], macHost[:])
	copy(b[6:12], macGW[:])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	binary.BigEndian.PutUint16(ip[4:], 0x1234)
	ip[6] = 0x40 // DF
	ip[8] = 60
	ip[9] = 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:16], s[:])
	copy(ip[16:20], d[:])
	binary.BigEndian.PutUint16(ip[10:], ^sum16(ip, 0))
	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	binary.BigEndian.PutUint16(udp[6:], udpChecksum(ip, udp))
	return b
}

func sum16(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func udpChecksum(ip, udp []byte) uint16 {
	pseudo := append(append([]byte{}, ip[12:20]...), 0, 17, byte(len(udp)>>8), byte(len(udp)))
	saved := binary.BigEndian.Uint16(udp[6:])
	binary.BigEndian.PutUint16(udp[6:], 0)
	c := ^sum16(append(pseudo, udp...), 0)
	binary.BigEndian.PutUint16(udp[6:], saved)
	if c == 0 {
		c = 0xffff
	}
	return c
}

func channelData(number uint16, data []byte) []byte {
	return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, number), uint16(len(data))), data...)
}

func loadForTest(t *testing.T) *Offload {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("offload: loading XDP needs root (CAP_BPF, CAP_NET_ADMIN); CI runs the tests as root")
	}
	o, err := load(64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func (o *Offload) run(t *testing.T, in []byte) (uint32, []byte) {
	t.Helper()
	out := make([]byte, len(in)+64)
	ret, err := o.objs.TurnOffload.Run(&ebpf.RunOptions{Data: in, DataOut: out})
	if err != nil {
		t.Fatal(err)
	}
	return ret, out
}

// runN runs the program and trims its output to the packet's IP length.
func (o *Offload) runN(t *testing.T, in []byte) (uint32, []byte) {
	t.Helper()
	out := make([]byte, len(in)+64)
	opts := &ebpf.RunOptions{Data: in, DataOut: out}
	ret, err := o.objs.TurnOffload.Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	return ret, out[:14+int(binary.BigEndian.Uint16(out[16:]))]
}

// learnBoth teaches the program the client and the peer on loopback, as their first packets do.
func (o *Offload) learnBoth(t *testing.T) {
	t.Helper()
	for _, a := range []netip.AddrPort{testCh.Client, testCh.Peer} {
		n := bpfNeighbor{Ifindex: loIndex, Own: macHost, Next: macGW}
		if err := o.objs.Neighbors.Put(be32(a), n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestProgramRelays(t *testing.T) {
	o := loadForTest(t)
	if err := o.Add(testCh); err != nil {
		t.Fatal(err)
	}
	o.learnBoth(t)
	for _, size := range []int{0, 1, 2, 3, 5, 160, 1000, 1500 - 20 - 8 - 4} {
		data := bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, size/3+1)[:size]
		t.Run("to peer", func(t *testing.T) {
			ret, out := o.runN(t, packet(testCh.Client, testCh.Server, channelData(testCh.Number, data)))
			if ret != xdpTX {
				t.Fatalf("size %d: action %d, want XDP_TX", size, ret)
			}
			if want := packet(testCh.Relay, testCh.Peer, data); !sameRelayed(out, want) {
				t.Errorf("size %d:\n got %x\nwant %x", size, out, want)
			}
		})
		if size > 1500-20-8-4 {
			continue
		}
		t.Run("to client", func(t *testing.T) {
			ret, out := o.runN(t, packet(testCh.Peer, testCh.Relay, data))
			if ret != xdpTX {
				t.Fatalf("size %d: action %d, want XDP_TX", size, ret)
			}
			if want := packet(testCh.Server, testCh.Client, channelData(testCh.Number, data)); !sameRelayed(out, want) {
				t.Errorf("size %d:\n got %x\nwant %x", size, out, want)
			}
		})
	}
	c := o.Collect()
	if c.PacketsToPeers != 8 || c.PacketsFromPeers != 8 || c.BytesToPeers != 0+1+2+3+5+160+1000+1468 || c.BytesFromPeers != c.BytesToPeers {
		t.Errorf("counters %+v", c)
	}
	if c := o.Collect(); c != (Counters{}) {
		t.Errorf("second collect %+v, want nothing new", c)
	}
}

// TestProgramChecksums: the sender's UDP checksum is carried over, so none stays none and a datagram
// damaged on the way in is still seen as damaged where it arrives.
func TestProgramChecksums(t *testing.T) {
	o := loadForTest(t)
	if err := o.Add(testCh); err != nil {
		t.Fatal(err)
	}
	o.learnBoth(t)
	data := []byte("checksummed payload, odd length")
	for _, dir := range []struct {
		name string
		in   func() []byte
	}{
		{"to peer", func() []byte { return packet(testCh.Client, testCh.Server, channelData(testCh.Number, data)) }},
		{"to client", func() []byte { return packet(testCh.Peer, testCh.Relay, data) }},
	} {
		for _, tc := range []struct {
			name   string
			mangle func(p []byte)
			want   string // "valid", "zero" or "invalid"
		}{
			{"sound", func([]byte) {}, "valid"},
			{"no checksum", func(p []byte) { binary.BigEndian.PutUint16(p[14+20+6:], 0) }, "zero"},
			{"damaged payload", func(p []byte) { p[len(p)-1] ^= 0x10 }, "invalid"},
		} {
			t.Run(dir.name+" "+tc.name, func(t *testing.T) {
				in := dir.in()
				tc.mangle(in)
				ret, out := o.runN(t, in)
				if ret != xdpTX {
					t.Fatalf("action %d, want XDP_TX", ret)
				}
				ip, udp := out[14:34], out[34:]
				got := "invalid"
				switch field := binary.BigEndian.Uint16(udp[6:]); {
				case field == 0:
					got = "zero"
				case field == udpChecksum(ip, udp):
					got = "valid"
				}
				if got != tc.want {
					t.Errorf("UDP checksum out is %s, want %s", got, tc.want)
				}
				if sum16(ip, 0) != 0xffff {
					t.Errorf("IP header checksum wrong")
				}
			})
		}
	}
}

// sameRelayed compares a relayed packet with the expected one: the MACs are swapped (sent back
// toward the learnt next hop), the TTL is 64 and the IP checksum follows from that.
func sameRelayed(got, want []byte) bool {
	if len(got) != len(want) {
		return false
	}
	w := append([]byte{}, want...)
	copy(w[0:6], macGW[:])
	copy(w[6:12], macHost[:])
	w[14+8] = 64
	binary.BigEndian.PutUint16(w[14+10:], 0)
	binary.BigEndian.PutUint16(w[14+10:], ^sum16(w[14:34], 0))
	return bytes.Equal(got, w)
}

func TestProgramPasses(t *testing.T) {
	o := loadForTest(t)
	if err := o.Add(testCh); err != nil {
		t.Fatal(err)
	}
	data := []byte("hello peer")
	other := netip.MustParseAddrPort("198.18.2.2:5005")
	padded := packet(testCh.Client, testCh.Server, append(channelData(testCh.Number, data[:9]), 0, 0, 0))
	options := packet(testCh.Client, testCh.Server, channelData(testCh.Number, data))
	options[14] = 0x46
	fragment := packet(testCh.Peer, testCh.Relay, data)
	fragment[14+6] |= 0x20
	trailing := append(packet(testCh.Client, testCh.Server, channelData(testCh.Number, data)), 0, 0)
	short := packet(testCh.Client, testCh.Server, channelData(testCh.Number, data))
	binary.BigEndian.PutUint16(short[14+20+8+2:], uint16(len(data)+1))
	stun := packet(testCh.Client, testCh.Server, append([]byte{0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42}, make([]byte, 12)...))
	big := packet(testCh.Peer, testCh.Relay, make([]byte, 1500-20-8+1))
	partial := packet(testCh.Peer, testCh.Relay, data)
	binary.BigEndian.PutUint16(partial[14+20+6:], sum16(append(append([]byte{}, partial[14+12:14+20]...), 0, 17, 0, byte(8+len(data))), 0))
	for _, tc := range []struct {
		name  string
		in    []byte
		learn bool // neighbors known
	}{
		{"peer not heard from yet", packet(testCh.Client, testCh.Server, channelData(testCh.Number, data)), false},
		{"client not heard from yet", packet(testCh.Peer, testCh.Relay, data), false},
		{"other peer port (no channel)", packet(other, testCh.Relay, data), true},
		{"other client port", packet(netip.MustParseAddrPort("198.18.1.2:40001"), testCh.Server, channelData(testCh.Number, data)), true},
		{"unbound channel number", packet(testCh.Client, testCh.Server, channelData(0x4002, data)), true},
		{"padded channel data", padded, true},
		{"length field too long", short, true},
		{"IP options", options, true},
		{"fragment", fragment, true},
		{"Ethernet padding", trailing, true},
		{"STUN", stun, true},
		{"over MaxIPLen", big, true},
		{"checksum left to offload", partial, true},
		{"runt", packet(testCh.Client, testCh.Server, []byte{0x40})[:14+20+8+1], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.learn {
				o.learnBoth(t)
			} else {
				for _, a := range []netip.AddrPort{testCh.Client, testCh.Peer} {
					_ = o.objs.Neighbors.Delete(be32(a))
				}
			}
			ret, out := o.run(t, tc.in)
			if ret != xdpPass || !bytes.Equal(out[:len(tc.in)], tc.in) {
				t.Errorf("action %d, want XDP_PASS with the packet untouched", ret)
			}
		})
	}
	if c := o.Collect(); c != (Counters{}) {
		t.Errorf("counters %+v, want nothing relayed", c)
	}
}

// TestProgramLearnsAndRedirects: each side's first packet goes to user space and teaches the
// program where that side is; once both are known the kernel relays, and toward a neighbor on
// another interface it redirects rather than transmits back.
func TestProgramLearnsAndRedirects(t *testing.T) {
	o := loadForTest(t)
	if err := o.Add(testCh); err != nil {
		t.Fatal(err)
	}
	toPeer := packet(testCh.Client, testCh.Server, channelData(testCh.Number, []byte("x")))
	toClient := packet(testCh.Peer, testCh.Relay, []byte("y"))
	for i, step := range []struct {
		in   []byte
		want uint32
	}{{toPeer, xdpPass}, {toPeer, xdpPass}, {toClient, xdpTX}, {toPeer, xdpTX}} {
		if ret, _ := o.run(t, step.in); ret != step.want {
			t.Fatalf("step %d: action %d, want %d", i+1, ret, step.want)
		}
	}
	var n bpfNeighbor
	if err := o.objs.Neighbors.Lookup(be32(testCh.Client), &n); err != nil {
		t.Fatalf("client not learnt: %v", err)
	}
	// packet sends from macGW to macHost.
	if n != (bpfNeighbor{Ifindex: loIndex, Own: macHost, Next: macGW}) {
		t.Errorf("learnt %+v", n)
	}
	if err := o.objs.Neighbors.Put(be32(testCh.Peer), bpfNeighbor{Ifindex: 4242, Own: macHost, Next: macGW}); err != nil {
		t.Fatal(err)
	}
	if ret, _ := o.run(t, toPeer); ret != xdpRedir {
		t.Fatalf("toward a neighbor on another interface: action %d, want XDP_REDIRECT", ret)
	}
}

func TestAddRemove(t *testing.T) {
	o := loadForTest(t)
	ch2 := testCh
	ch2.Number, ch2.Peer = 0x4002, netip.MustParseAddrPort("198.18.2.3:5004")
	for _, ch := range []Channel{testCh, ch2} {
		if err := o.Add(ch); err != nil {
			t.Fatal(err)
		}
	}
	if p, c := o.Entries(); p != 2 || c != 2 {
		t.Fatalf("entries %d/%d, want 2/2", p, c)
	}
	o.Remove(testCh.Client, testCh.Number)
	if p, c := o.Entries(); p != 1 || c != 1 {
		t.Fatalf("after Remove: entries %d/%d, want 1/1", p, c)
	}
	o.RemoveAllocation(testCh.Client)
	if p, c := o.Entries(); p != 0 || c != 0 {
		t.Fatalf("after RemoveAllocation: entries %d/%d, want 0", p, c)
	}
	bad := testCh
	bad.Peer = netip.MustParseAddrPort("[2001:db8::1]:5004")
	if err := o.Add(bad); err != ErrAddress {
		t.Errorf("IPv6 peer: %v, want ErrAddress", err)
	}
	for i := range MaxPerAllocation + 1 {
		ch := testCh
		ch.Number = 0x4000 + uint16(i)
		ch.Peer = netip.AddrPortFrom(ch.Peer.Addr(), uint16(6000+i))
		err := o.Add(ch)
		if (i < MaxPerAllocation) != (err == nil) {
			t.Fatalf("channel %d of one allocation: %v", i+1, err)
		}
	}
}

// FuzzProgram: whatever arrives, the program relays it or passes it untouched, never aborts or drops.
func FuzzProgram(f *testing.F) {
	f.Add(packet(testCh.Client, testCh.Server, channelData(testCh.Number, []byte("seed"))))
	f.Add(packet(testCh.Peer, testCh.Relay, []byte("seed")))
	f.Add([]byte{})
	o, err := load(8)
	if err != nil {
		f.Fatal(err)
	}
	defer o.Close()
	if err := o.Add(testCh); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 14 {
			return // the kernel refuses runs shorter than an Ethernet header
		}
		o.learnBoth(t)
		ret, out := o.run(t, in)
		switch ret {
		case xdpTX:
		case xdpPass:
			if !bytes.Equal(out[:len(in)], in) {
				t.Errorf("passed a modified packet")
			}
		default:
			t.Errorf("action %d", ret)
		}
	})
}

// BenchmarkProgram is the kernel's cost of relaying one datagram of each size and direction in the
// program itself, as the kernel times one BPF_PROG_TEST_RUN (ns/packet), without the driver's or
// the veth's work. One run per call: the program rewrites the packet, so a repeat would relay a
// packet already relayed.
func BenchmarkProgram(b *testing.B) {
	o, err := load(8)
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	if err := o.Add(testCh); err != nil {
		b.Fatal(err)
	}
	for _, a := range []netip.AddrPort{testCh.Client, testCh.Peer} {
		if err := o.objs.Neighbors.Put(be32(a), bpfNeighbor{Ifindex: loIndex, Own: macHost, Next: macGW}); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int{160, 1000} {
		data := make([]byte, size)
		for name, in := range map[string][]byte{
			"to peer":   packet(testCh.Client, testCh.Server, channelData(testCh.Number, data)),
			"to client": packet(testCh.Peer, testCh.Relay, data),
		} {
			b.Run(fmt.Sprintf("%s %d B", name, size), func(b *testing.B) {
				var total time.Duration
				for range b.N {
					ret, d, err := o.objs.TurnOffload.Benchmark(in, 1, nil)
					if err != nil || ret != xdpTX {
						b.Fatalf("action %d: %v", ret, err)
					}
					total += d
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/packet")
			})
		}
	}
}
