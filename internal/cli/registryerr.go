package cli

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// rewordedError is err shown with another text; errors.Is and errors.As
// still see err.
type rewordedError struct {
	text string
	err  error
}

func (e *rewordedError) Error() string { return e.text }
func (e *rewordedError) Unwrap() error { return e.err }

// registryErrorText makes a registry's "not found" answer read as one:
// go-containerregistry prints each error's detail as a Go map
// ("MANIFEST_UNKNOWN: manifest unknown; map[Tag:1]"), which is dropped,
// and the cause is said in words.
func registryErrorText(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	text := err.Error()
	hint := ""
	for _, d := range te.Errors {
		if d.Detail != nil {
			text = strings.Replace(text, fmt.Sprintf("; %v", d.Detail), "", 1)
		}
		switch d.Code {
		case transport.ManifestUnknownErrorCode:
			hint = "the registry has no image of that tag or digest in that repository"
		case transport.NameUnknownErrorCode:
			hint = "the registry has no repository of that name"
		}
	}
	if hint == "" && text == err.Error() {
		return err
	}
	if hint != "" {
		text += " (" + hint + ")"
	}
	return &rewordedError{text: text, err: err}
}

// withLowerCaseHint adds to the error of a reference that does not parse
// the reason users most often meet: a repository path with capitals
// ("127.0.0.1:5000/Win/App:1"); tags may have them, repositories not.
func withLowerCaseHint(err error, ref string) error {
	ref = strings.TrimPrefix(ref, "docker://")
	path, _, _ := strings.Cut(ref, "@")
	host, rest, ok := strings.Cut(path, "/")
	if !ok || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		host, rest = "", path
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		rest = rest[:i] // the tag
	}
	if rest == strings.ToLower(rest) {
		return err
	}
	return fmt.Errorf("%w (repository names are lower case: %s, not %s)", err, strings.ToLower(rest), rest)
}

// withNoRegistryHint says what a refused connection means: nothing listens
// at the registry's address. go-containerregistry tries HTTPS and then
// HTTP for localhost, and both "connection refused" errors read as if the
// protocol were the problem.
func withNoRegistryHint(err error) error {
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" || op.Addr == nil {
		return err
	}
	return fmt.Errorf("%w (nothing listens at %s: is the registry running, and are the host and port right?)", err, op.Addr)
}
