// Package backupstream reads and writes Win32 backup streams: the format that
// BackupRead produces and BackupWrite consumes, and that hcsshim's layer
// writer and reader exchange for every file of a Windows container layer.
//
// A backup stream is a concatenation of records, each a WIN32_STREAM_ID
// header (stream id, attributes, size, UTF-16 name) followed by its payload.
// [Reader] walks the records of a stream like archive/tar's Reader walks
// entries: [Reader.Next] returns the next [Header] and [Reader.Read] reads
// its payload. [Writer] produces a stream: [Writer.WriteHeader] then
// [Writer.Write] for the payload.
//
// The package also holds the codecs for the payloads a layer tar carries:
// the FILE_FULL_EA_INFORMATION list ([EncodeEAs], [DecodeEAs]), reparse
// point buffers ([EncodeReparsePoint], [DecodeReparsePoint]) and the
// FILE_BASIC_INFO times and attributes ([FileBasicInfo], [Filetime]).
//
// Everything here is portable Go with no cgo; the byte layouts follow
// go-winio v0.6.4 (backup.go, ea.go, reparse.go, fileinfo.go), as described
// in the winlayer spec "windows-layer-format.md" sections 7 to 9. Decoders
// check every bound and return errors instead of panicking on malformed input.
package backupstream
