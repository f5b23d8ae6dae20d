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
// v1.ImageIndex or v1.Image, and a destination is written from one.
package image
