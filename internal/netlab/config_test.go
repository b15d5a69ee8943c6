package netlab

import (
	"errors"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"two homes", Config{Homes: []Home{{NAT: Symmetric}, {NAT: Routed, BlockUDP: true, Link: Link{Loss: 0.05, Delay: time.Second}}}}, true},
		{"no home", Config{}, false},
		{"too many homes", Config{Homes: make([]Home, maxHomes+1)}, false},
		{"unknown NAT", Config{Homes: []Home{{NAT: "full-cone"}}}, false},
		{"all lost", Config{Homes: []Home{{NAT: Symmetric, Link: Link{Loss: 1}}}}, false},
		{"negative loss", Config{Homes: []Home{{NAT: Symmetric, Link: Link{Loss: -0.1}}}}, false},
		{"cloud NAT", Config{CloudNAT: true, Homes: []Home{{NAT: Symmetric}, {NAT: EndpointIndependent, OnlyTCP443: true}}}, true},
		{"cloud NAT over IPv6", Config{CloudNAT: true, IPv6: true, Homes: []Home{{NAT: Routed}}}, false},
		{"negative delay", Config{Homes: []Home{{NAT: Symmetric, Link: Link{Delay: -time.Second}}}}, false},
	} {
		err := tc.cfg.validate()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
