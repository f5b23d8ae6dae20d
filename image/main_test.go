package image

import (
	"os"
	"testing"
)

// childHook is a role the test binary plays when run again by a test
// with env set (a process to kill, for example); run never returns.
type childHook struct {
	env string
	run func()
}

// childHooks are registered by the tests that start such children.
var childHooks []childHook

func TestMain(m *testing.M) {
	for _, h := range childHooks {
		if os.Getenv(h.env) != "" {
			h.run()
		}
	}
	os.Exit(m.Run())
}
