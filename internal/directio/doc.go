// Package directio holds the store's direct and drop-behind file I/O: the
// Sink that writes an import's regular files beside the import loop (small
// files by one goroutine of their own, large ones in 512 KiB writes by a
// few workers, with O_DIRECT from DirectWriteMin bytes and preallocation
// with fallocate beyond one write, writeback started as each file ends), files written
// with plain system calls (CreateExcl), the export's PayloadReader (a
// large file that is not in the page cache — asked with cachestat — is
// read with O_DIRECT ahead of the caller), the import's ReadAhead (reads
// and hashes the tar on its own goroutine), AsyncWriter (writes on its
// own goroutine) and StreamWriter (a file written from start to end with
// O_DIRECT on a goroutine of its own: the layer blobs a pull keeps).
//
// On systems other than Linux, the Sink writes files in place and
// PayloadReader reads through the page cache.
package directio
