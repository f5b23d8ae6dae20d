// Package drivertest is the conformance suite of the windowsfilter driver
// ([Suite]), in the manner of containerd's snapshots testsuite: every
// backend (the Linux overlay mounter, hcsshim on Windows, [FakeMounter])
// runs the same tests of the driver's logic — Create chains, Get/Put
// reference counts, Changes, Diff and ApplyDiff of generated layers,
// DiffSize, Exists, Remove and its repair. [FakeMounter] runs them
// without privilege.
package drivertest
