package layer

// The calls that make a commit durable and visible. Every commit (and
// removal) makes them through these variables, so that a test can record
// which it makes and in what order (see durable_test.go); nothing else
// changes them.
var (
	// syncFS flushes the file system holding dir (syncfs(2); where there
	// is none, every file and directory of the tree dir).
	syncFS = sysSyncFS
	// syncDir fsyncs a directory, making its entries durable.
	syncDir = sysSyncDir
	// renameNoReplace renames a directory into place, failing with
	// os.ErrExist when the destination exists.
	renameNoReplace = sysRenameNoReplace
	// exchange swaps two directories in one step.
	exchange = sysExchange
)
