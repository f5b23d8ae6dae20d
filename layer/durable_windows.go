package layer

// dirSyncWorks is false on Windows: a directory handle cannot be flushed
// there (NTFS journals its directories itself).
const dirSyncWorks = false
