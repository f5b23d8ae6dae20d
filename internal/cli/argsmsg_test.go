package cli

import (
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestArgCountMessages: every verb words a missing or extra argument the
// same way — what it takes, how many it got, what is missing or extra,
// and its usage line — as a usage error (exit status 2 and the --help
// hint). The table must name every verb of the command tree.
func TestArgCountMessages(t *testing.T) {
	t.Setenv("WINLAYER_STORE", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cases := []struct {
		args []string // the verb's words and the arguments given
		want string   // the error line after "winlayer: "
	}{
		{[]string{"import"}, "import takes ID, got 0 arguments (missing ID); usage: winlayer import [--parent ID]... ID < layer.tar"},
		{[]string{"import", "a", "b"}, `import takes ID, got 2 arguments (extra "b"); usage: winlayer import [--parent ID]... ID < layer.tar`},
		{[]string{"export"}, "export takes ID, got 0 arguments (missing ID); usage: winlayer export ID > layer.tar"},
		{[]string{"export", "a", "b"}, `export takes ID, got 2 arguments (extra "b"); usage: winlayer export ID > layer.tar`},
		{[]string{"ls", "x"}, `ls takes no arguments, got 1 argument (extra "x"); usage: winlayer ls`},
		{[]string{"inspect"}, "inspect takes ID [PATH], got 0 arguments (missing ID); usage: winlayer inspect ID [PATH]"},
		{[]string{"inspect", "a", "b", "c"}, `inspect takes ID [PATH], got 3 arguments (extra "c"); usage: winlayer inspect ID [PATH]`},
		{[]string{"rm"}, "rm takes ID..., got 0 arguments (missing ID...); usage: winlayer rm [--force] ID..."},
		{[]string{"cleanup", "x"}, `cleanup takes no arguments, got 1 argument (extra "x"); usage: winlayer cleanup`},
		{[]string{"verify"}, "verify takes (LAYER.tar | IMAGE)..., got 0 arguments (missing (LAYER.tar | IMAGE)...); usage: winlayer verify [--platform P]... (LAYER.tar | IMAGE)..."},
		{[]string{"login"}, "login takes HOST, got 0 arguments (missing HOST); usage: winlayer login -u USER (--password-stdin | -p PASS) HOST"},
		{[]string{"login", "a", "b"}, `login takes HOST, got 2 arguments (extra "b"); usage: winlayer login -u USER (--password-stdin | -p PASS) HOST`},
		{[]string{"records", "dump", "x"}, `records dump takes no arguments, got 1 argument (extra "x"); usage: winlayer records dump [--hex] < layer.tar > records.jsonl`},
		{[]string{"records", "build", "x"}, `records build takes no arguments, got 1 argument (extra "x"); usage: winlayer records build [--no-seek] < records.jsonl > layer.tar`},
		{[]string{"image", "pull"}, "image pull takes SRC, got 0 arguments (missing SRC); usage: winlayer image pull [--platform P] [--host-build N] [--jobs N] [-q] [--json] SRC"},
		{[]string{"image", "pull", "a", "b"}, `image pull takes SRC, got 2 arguments (extra "b"); usage: winlayer image pull [--platform P] [--host-build N] [--jobs N] [-q] [--json] SRC`},
		{[]string{"image", "load"}, "image load takes SRC, got 0 arguments (missing SRC); usage: winlayer image load [--platform P] [-q] [--json] SRC"},
		{[]string{"image", "ls", "x"}, `image ls takes no arguments, got 1 argument (extra "x"); usage: winlayer image ls [--json]`},
		{[]string{"image", "inspect"}, "image inspect takes NAME, got 0 arguments (missing NAME); usage: winlayer image inspect [--json] NAME"},
		{[]string{"image", "inspect", "a", "b"}, `image inspect takes NAME, got 2 arguments (extra "b"); usage: winlayer image inspect [--json] NAME`},
		{[]string{"image", "rm"}, "image rm takes NAME..., got 0 arguments (missing NAME...); usage: winlayer image rm NAME..."},
		{[]string{"image", "tag", "a"}, "image tag takes NAME NEW, got 1 argument (missing NEW); usage: winlayer image tag NAME NEW"},
		{[]string{"image", "tag", "a", "b", "c"}, `image tag takes NAME NEW, got 3 arguments (extra "c"); usage: winlayer image tag NAME NEW`},
		{[]string{"image", "push", "a"}, "image push takes NAME DEST, got 1 argument (missing DEST); usage: winlayer image push NAME DEST"},
		{[]string{"image", "save"}, "image save takes NAME... DEST, got 0 arguments (missing NAME... DEST); usage: winlayer image save NAME... DEST"},
		{[]string{"image", "copy", "a"}, "image copy takes SRC DST, got 1 argument (missing DST); usage: winlayer image copy [--platform P] [--host-build N] [--all-platforms] SRC DST"},
		{[]string{"image", "copy", "a", "b", "c"}, `image copy takes SRC DST, got 3 arguments (extra "c"); usage: winlayer image copy [--platform P] [--host-build N] [--all-platforms] SRC DST`},
	}
	covered := map[string]bool{"check": true} // check takes any number of IDs
	for _, c := range cases {
		verb := c.args[0]
		if verb == "image" || verb == "records" {
			verb += " " + c.args[1]
		}
		covered[verb] = true
		_, errOut, code := run(t, nil, c.args...)
		want := "winlayer: " + c.want + "\nRun 'winlayer " + verb + " --help' for usage.\n"
		if code != 2 || errOut != want {
			t.Errorf("%q: %d\n%s\nwant 2\n%s", c.args, code, errOut, want)
		}
	}
	var missing []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.HasSubCommands() {
				walk(sub)
			} else if p := verbPath(sub); !covered[p] {
				missing = append(missing, p)
			}
		}
	}
	walk(newRootCmd(&options{}))
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("verbs without an argument-count case: %s", strings.Join(missing, ", "))
	}
}
