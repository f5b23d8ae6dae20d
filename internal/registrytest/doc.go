// Package registrytest starts container registries for tests: Debian's
// docker-registry binary (CNCF distribution 2.8.2) with htpasswd auth and
// its default manifest validation, and go-containerregistry's in-process
// registry. Both listen on 127.0.0.1 only and are stopped when the test
// ends.
package registrytest
