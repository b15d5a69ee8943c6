package sio

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		version int
		body    string
		want    []string // nil: an error
	}{
		{4, "4hello", []string{"4hello"}},
		{4, "2\x1e3\x1e42[\"join\",\"r\"]", []string{"2", "3", `42["join","r"]`}},
		{4, "", nil},
		{4, "2\x1e", nil},
		{4, "\x1e2", nil},
		{3, "1:2", []string{"2"}},
		{3, "6:4hello1:3", []string{"4hello", "3"}},
		// Lengths count UTF-16 code units: é is one, 😀 two, though 2 and 4 bytes in UTF-8.
		{3, "3:4é😀", nil},
		{3, "4:4é😀", []string{"4é😀"}},
		{3, "4:4é😀1:6", []string{"4é😀", "6"}},
		{3, "", nil},
		{3, "0:", nil},
		{3, "-1:2", nil},
		{3, "2:2", nil},
		{3, "x:2", nil},
		{3, "12345678901:2", nil},
		{3, "1:2garbage", nil},
	}
	for _, tt := range tests {
		got, err := decodePayload(tt.version, []byte(tt.body))
		if tt.want == nil {
			if err == nil {
				t.Errorf("EIO%d %q: %q, want an error", tt.version, tt.body, got)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("EIO%d %q: %q, %v; want %q", tt.version, tt.body, got, err, tt.want)
			continue
		}
		for i := range got {
			if string(got[i]) != tt.want[i] {
				t.Errorf("EIO%d %q: packet %d is %q, want %q", tt.version, tt.body, i, got[i], tt.want[i])
			}
		}
	}
}

func TestAppendPayload(t *testing.T) {
	packets := [][]byte{[]byte("2"), []byte(`42["m","é😀"]`)}
	if got := string(appendPayload(nil, 4, packets)); got != "2\x1e42[\"m\",\"é😀\"]" {
		t.Errorf("EIO4: %q", got)
	}
	if got := string(appendPayload(nil, 3, packets)); got != "1:213:42[\"m\",\"é😀\"]" {
		t.Errorf("EIO3: %q", got)
	}
}

// FuzzPayload feeds arbitrary polling bodies to both decoders: no panic, packets are non-empty, and
// what decodes re-encodes to a body that decodes to the same packets.
func FuzzPayload(f *testing.F) {
	for _, s := range []string{"4hello", "2\x1e3", "6:4hello1:3", "4:4é😀", "1:\xff", "3:4\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, version := range []int{3, 4} {
			packets, err := decodePayload(version, body)
			if err != nil {
				continue
			}
			for _, p := range packets {
				if len(p) == 0 {
					t.Fatalf("EIO%d %q: an empty packet", version, body)
				}
			}
			// Invalid UTF-8 has no single JavaScript length; the server refuses it before answering.
			if version == 3 && !utf8.Valid(body) {
				continue
			}
			again, err := decodePayload(version, appendPayload(nil, version, packets))
			if err != nil || len(again) != len(packets) {
				t.Fatalf("EIO%d %q: re-encoded, %q, %v", version, body, again, err)
			}
			for i := range again {
				if !bytes.Equal(again[i], packets[i]) {
					t.Fatalf("EIO%d %q: packet %d re-encoded as %q", version, body, i, again[i])
				}
			}
		}
	})
}
