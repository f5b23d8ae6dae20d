//go:build !windows

package layer

// dirSyncWorks is true where fsync(2) of a directory makes its entries durable.
const dirSyncWorks = true
