package layer

import (
	"os"
	"strconv"
	"sync/atomic"
)

// Fault injection for the crash-safety tests: when WINLAYER_FAULT_AT=n is
// set, the n-th fault point reached kills the process with SIGKILL (what
// `kill -9` does), and WINLAYER_FAULT_TRACE=1 prints every point reached on
// stderr. Without the variables a fault point costs one atomic load.
var (
	faultAt    = envInt("WINLAYER_FAULT_AT")
	faultTrace = os.Getenv("WINLAYER_FAULT_TRACE") == "1"
	faultN     atomic.Int64
)

func envInt(name string) int64 {
	n, _ := strconv.ParseInt(os.Getenv(name), 10, 64)
	return n
}

// faultPoint marks a place where a crash must leave the store consistent.
func faultPoint(where string) {
	if faultAt == 0 && !faultTrace {
		return
	}
	n := faultN.Add(1)
	if faultTrace {
		os.Stderr.WriteString("fault point " + strconv.FormatInt(n, 10) + " " + where + "\n")
	}
	if n == faultAt {
		killSelf()
	}
}

// faultChunk bounds one read of file data while fault injection is on, so
// that a large file's data passes several fault points, as it does through
// Write's 32 KiB copies; otherwise it returns n.
func faultChunk(n int) int {
	if faultAt == 0 && !faultTrace {
		return n
	}
	return min(n, 32<<10)
}

// faultErrHook, set only by tests, makes the fault points that check
// faultErr fail as if the system call there had failed (nil: no fault).
var faultErrHook atomic.Pointer[func(where string) error]

// faultErr returns the error the test hook wants at where, or nil.
func faultErr(where string) error {
	if h := faultErrHook.Load(); h != nil {
		return (*h)(where)
	}
	return nil
}
