package netlab

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wireQueue bounds the packets in flight each way; a full queue drops, as a router's buffer does.
const wireQueue = 1024

// wire is a cable with loss and delay: a TUN device in each namespace, and this process copying
// packets between them.
type wire struct {
	a, b *os.File
	link Link
	wg   sync.WaitGroup
}

func newWire(na Namespace, devA string, nb Namespace, devB string, link Link) (*wire, error) {
	a, err := openTUN(na, devA)
	if err != nil {
		return nil, err
	}
	b, err := openTUN(nb, devB)
	if err != nil {
		a.Close()
		return nil, err
	}
	w := &wire{a: a, b: b, link: link}
	w.wg.Add(2)
	go w.pump(a, b)
	go w.pump(b, a)
	return w, nil
}

// openTUN creates the TUN device name in n; it goes away when the file is closed.
func openTUN(n Namespace, name string) (*os.File, error) {
	var f *os.File
	err := n.Run(func() error {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err == nil {
			ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
			err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
		}
		if err == nil {
			// Non-blocking, so Go's poller waits for packets and Close wakes a pending Read.
			err = unix.SetNonblock(fd, true)
		}
		if err != nil {
			unix.Close(fd)
			return err
		}
		f = os.NewFile(uintptr(fd), name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tun %s in %s: %w", name, n.Name, err)
	}
	return f, nil
}

type packet struct {
	due  time.Time
	data []byte
}

// pump carries packets from one end to the other until from is closed.
func (w *wire) pump(from, to *os.File) {
	defer w.wg.Done()
	q := make(chan packet, wireQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range q {
			time.Sleep(time.Until(p.due))
			_, _ = to.Write(p.data) // the far end closed: the wire is being taken down
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, err := from.Read(buf)
		if err != nil {
			break
		}
		if rand.Float64() < w.link.Loss {
			continue
		}
		select {
		case q <- packet{due: time.Now().Add(w.link.Delay), data: append([]byte(nil), buf[:n]...)}:
		default:
		}
	}
	close(q)
	<-done
}

func (w *wire) close() {
	w.a.Close()
	w.b.Close()
	w.wg.Wait()
}
