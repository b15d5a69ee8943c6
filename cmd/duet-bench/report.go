package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

func printLoad(w io.Writer, name string, r LoadResult) {
	fmt.Fprintf(w, "%s: N=%d M=%d connect %v join %v relay %v | joins/s %.0f msgs/s %.0f | join p50 %v p99 %v | relay p50 %v p99 %v | relayed %d/%d errors %d | CPU %.2fs (relay %.2fs, %.1f µs/msg) | RSS idle %d KiB, joined %d KiB, peak %d KiB, %.1f KiB/client | generator CPU in relay %.2fs | goroutines %.0f heap %.0f KiB stack %.0f KiB\n",
		name, r.N, r.M, r.Connect.Round(time.Millisecond), r.Join.Round(time.Millisecond), r.Relay.Round(time.Millisecond),
		r.JoinsPerSec, r.MsgsPerSec, r.JoinP50, r.JoinP99, r.RelayP50, r.RelayP99, r.Relayed, r.Expected, r.Errors,
		r.CPUTotal, r.CPURelay, r.CPUPerMsgUS, r.RSSIdleKiB, r.RSSConnKiB, r.PeakRSSKiB, r.RSSPerClientKiB, r.GenCPURelay, r.Goroutines, r.HeapInuseKiB, r.StackInuseKiB)
	for _, e := range r.FirstErrors {
		fmt.Fprintln(w, "   error:", e)
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianOf[T any](xs []T, f func(T) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return median(v)
}

// table is a markdown table that also reads well in a terminal.
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) String() string {
	w := make([]int, len(t.head))
	for i, h := range t.head {
		w[i] = len([]rune(h))
	}
	for _, r := range t.rows {
		for i, c := range r {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i, c := range cells {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", w[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	line(t.head)
	sep := make([]string, len(w))
	for i := range w {
		sep[i] = strings.Repeat("-", w[i])
	}
	line(sep)
	for _, r := range t.rows {
		line(r)
	}
	return b.String()
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func ms(sec float64) string { return fmt.Sprintf("%.2f ms", sec*1e3) }
