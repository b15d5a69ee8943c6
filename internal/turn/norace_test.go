//go:build !race

package turn

// raceEnabled: see race_test.go.
const raceEnabled = false
