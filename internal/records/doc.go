// Package records reads and writes the JSON-lines record shape of the
// winlayer test vectors (testdata/README.md): one record per call the
// import loop makes on a layer writer (add, remove, link), an end record
// with the total size, and an error record when the import fails.
//
// [Dump] turns a layer tar into records through the real import loop
// ([wintar.Import]); [Build] turns records back into a layer tar through the
// real exporter ([wintar.WriteTarFileFromBackupStream]). `winlayer records
// dump` and `winlayer records build` are thin wrappers around them.
package records
