// Package splitrec is the tar-split record of an imported layer
// (.winlayer/tar-split.bin.gz): a Splitter reads a layer tar once and
// both hands its headers and payloads to the import loop and records its
// disassembly (raw headers, padding and trailer as segments; each payload
// as name, size and CRC-32C) through a Packer, in a compact binary form
// that an Unpacker reads back; Assemble rebuilds the very bytes of the tar
// from the record and the payloads a tar-split storage.FileGetter serves,
// checking each payload's size and checksum.
package splitrec
