package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// syncAll flushes every file system's dirty data (sync(2)).
func syncAll() { syscall.Sync() }

// maxRSSKiB returns ru_maxrss of a finished child, in KiB. On Linux this
// is the child's own peak or, if larger, the peak RSS of the process that
// started it: Go starts children with vfork (CLONE_VM), and exec charges
// the peak of the memory it replaces — the parent's — to the child.
func maxRSSKiB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return -1
}

// selfPeakRSSKiB returns this process's peak RSS (VmHWM), in KiB.
func selfPeakRSSKiB() int64 { return vmHWM("/proc/self/status") }

// vmHWM reads VmHWM from a /proc/PID/status file; -1 if it cannot.
func vmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	_, rest, ok := bytes.Cut(b, []byte("VmHWM:"))
	if !ok {
		return -1 // a zombie has no memory left to report
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(string(line)), "kB")), 10, 64)
	if err != nil {
		return -1
	}
	return kib
}

// watchPeakRSS polls the VmHWM of process pid until the returned function
// is called (after the process was waited for), which returns the largest
// value seen, in KiB, or -1. VmHWM belongs to the memory the process
// execed into, so unlike ru_maxrss it does not include the parent's peak;
// it misses at most growth in the last poll interval before exit.
func watchPeakRSS(pid int) (stop func() int64) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	done := make(chan struct{})
	result := make(chan int64, 1)
	go func() {
		peak := int64(-1)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, vmHWM(path))
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		return <-result
	}
}

// osFacts describes the kernel and memory for the machine facts line.
func osFacts() string {
	var facts []string
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		facts = append(facts, "Linux "+strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if _, rest, ok := bytes.Cut(b, []byte("MemTotal:")); ok {
			line, _, _ := bytes.Cut(rest, []byte("\n"))
			f := strings.Fields(string(line))
			if kib, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				facts = append(facts, strconv.FormatInt((kib+512<<10)>>20, 10)+" GiB RAM")
			}
		}
	}
	return strings.Join(facts, ", ")
}

// loadAvg returns the 1-minute load average ("" if unknown): the
// benchmark shares the machine with whatever else runs on it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
