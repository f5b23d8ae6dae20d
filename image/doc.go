// Package image handles Windows container images: references and the places
// images live (registries, OCI image layouts, docker-save archives),
// manifests, indexes and configs, the choice of a Windows platform from an
// index, and the movement of images between those places and the layer store.
//
// Image layers are store layers whose id is the 64-hex ChainID of the OCI
// image spec (the base's DiffID; then sha256 of parentChainID + " " +
// diffID), so a base shared by many images is stored once.
//
// The package is built on go-containerregistry: a source is read as a
// v1.ImageIndex or v1.Image (Open, Source.Resolve), and a destination is
// written from one (Write, Copy).
//
// The store side: OpenStore gives the image index of a layer store
// (<store>/.images/index.json, blobs by digest in <store>/.blobs). Store.Pull
// brings an image in, each missing layer in one streaming pass verified
// before it commits (see layer.WithVerify); Images, Lookup, Tag and Remove
// manage the index; Store.Image gives a stored image back as a v1.Image for
// push and save, blob for blob.
package image
