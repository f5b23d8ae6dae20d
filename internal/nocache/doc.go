// Package nocache writes long streams to files without keeping them in the
// page cache, as dd's oflag=nocache does.
//
// A Writer passes every write to its file through the page cache, starts
// writeback of each chunk as soon as the chunk is complete, and drops a
// chunk from the cache once it is on disk, a few chunks behind the write
// position. The file never holds more than a few tens of MiB of the
// page cache, whatever its size: a multi-GiB export neither evicts what
// other programs cache nor costs memory the system must reclaim later.
// It also matters on virtual machines whose free memory is handed back to
// the host (virtio-balloon free page reporting): there every page the
// cache takes for the first time costs a fault in the hypervisor, several
// seconds per GiB, while a Writer reuses the same few pages.
//
// On other systems, and for files that are not regular files (pipes,
// terminals, sockets), a Writer only passes writes through.
package nocache
