package turn

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
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
