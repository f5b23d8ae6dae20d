package atomicfile

import "os"

// CreateTemp creates a new temporary file in dir whose name is prefix
// followed by a random string, as os.CreateTemp(dir, prefix+"*") does, and
// first removes the files of that prefix that a writer killed before its
// rename or its cleanup left there (SIGKILL, power loss, a second Ctrl-C):
// where the system has flock (unix), every such file is locked by its
// writer until release is called, so only the files no live writer holds
// go. Call release once the file was renamed into place or removed.
// Elsewhere nothing is swept and release does nothing.
func CreateTemp(dir, prefix string) (f *os.File, release func(), err error) {
	return createTemp(dir, prefix)
}

// RemoveStale removes the files of dir named prefix… that writers killed
// before their rename or cleanup left (see CreateTemp); files live writers
// hold stay. Where there is no flock it does nothing.
func RemoveStale(dir, prefix string) { sweep(dir, prefix) }
