//go:build !linux

package main

import "os"

// syncAll does nothing: sync(2) is Linux's (and not every OS has it).
func syncAll() {}

// maxRSSKiB returns -1: ru_maxrss is read on Linux only (its unit
// differs between the BSDs, macOS and Linux).
func maxRSSKiB(*os.ProcessState) int64 { return -1 }

// selfPeakRSSKiB returns -1: VmHWM is Linux's.
func selfPeakRSSKiB() int64 { return -1 }

// watchPeakRSS watches nothing: VmHWM is Linux's.
func watchPeakRSS(int) (stop func() int64) { return func() int64 { return -1 } }

// osFacts says nothing more than runtime does.
func osFacts() string { return "" }

// loadAvg returns "": the load average is read on Linux only.
func loadAvg() string { return "" }
