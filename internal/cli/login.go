package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/spf13/cobra"

	"github.com/winlayer/winlayer/internal/atomicfile"
)

// errLoginRefused is returned when the registry refuses the credentials.
var errLoginRefused = errors.New("the registry refused the credentials")

// dockerHubConfigKey is the key docker keeps Docker Hub's credentials
// under in config.json.
const dockerHubConfigKey = "https://index.docker.io/v1/"

func newLoginCmd(o *options) *cobra.Command {
	var (
		user, password string
		passwordStdin  bool
		insecure       bool
		noVerify       bool
	)
	cmd := &cobra.Command{
		Use:   "login -u USER (--password-stdin | -p PASS) HOST",
		Short: "Save registry credentials in docker's config.json",
		Long: `login checks the credentials against the registry HOST (host[:port]) and
writes them to docker's config file, $DOCKER_CONFIG/config.json (default
~/.docker/config.json), as 'docker login' and 'crane auth login' do: to the
credential helper the file names for HOST (credHelpers, credsStore), else
base64 in "auths". Every image command reads credentials from there
(go-containerregistry's default keychain), credential helpers included.

The password comes from standard input with --password-stdin (its first
line), or from -p (visible in the process list; avoid).`,
		Example: `  echo "$PASSWORD" | winlayer login -u ci --password-stdin 127.0.0.1:5000`,
		Args:    exactArgs("HOST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if passwordStdin == (password != "") {
				return usageError{errors.New("give the password with --password-stdin (or -p), exactly one of them")}
			}
			if user == "" {
				return usageError{errors.New("-u USER is required")}
			}
			if passwordStdin {
				line, err := bufio.NewReader(o.stdin).ReadString('\n')
				if errors.Is(err, io.EOF) && line == "" {
					return usageError{fmt.Errorf("--password-stdin: standard input is empty; pipe the password in: echo \"$PASSWORD\" | winlayer login -u %s --password-stdin %s", user, args[0])}
				}
				if err != nil && line == "" {
					return fmt.Errorf("login: reading the password from standard input: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if password == "" {
				return usageError{errors.New("the password is empty")}
			}
			var opts []name.Option
			if insecure {
				opts = append(opts, name.Insecure)
			}
			host := strings.TrimPrefix(strings.TrimPrefix(args[0], "https://"), "http://")
			if h, repo, ok := strings.Cut(host, "/"); ok && h != "" && repo != "" {
				return usageError{fmt.Errorf("login %s: HOST is a registry, host[:port], not a repository: winlayer login %s", args[0], h)}
			}
			reg, err := name.NewRegistry(strings.TrimSuffix(host, "/"), opts...)
			if err != nil {
				return usageError{fmt.Errorf("login %s: %w", args[0], err)}
			}
			auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
			if !noVerify {
				if err := verifyLogin(cmd.Context(), reg, auth); err != nil {
					return fmt.Errorf("login %s: %w", reg, err)
				}
			}
			key := reg.RegistryStr()
			if key == name.DefaultRegistry {
				key = dockerHubConfigKey
			}
			where, err := saveCredentials(key, user, password)
			if err != nil {
				return fmt.Errorf("login %s: %w", reg, err)
			}
			fmt.Fprintf(o.stdout, "login %s: credentials saved in %s\n", reg, where)
			return nil
		},
	}
	cmd.Flags().StringVarP(&user, "username", "u", "", "user name")
	cmd.Flags().StringVarP(&password, "password", "p", "", "password (visible to other processes; prefer --password-stdin)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "let a registry other than localhost and 127.0.0.1 speak plain HTTP")
	cmd.Flags().BoolVar(&noVerify, "no-verify", false, "save the credentials without checking them against the registry")
	return cmd
}

// verifyLogin asks the registry's /v2/ endpoint with the credentials
// (through the token exchange when the registry uses one).
func verifyLogin(ctx context.Context, reg name.Registry, auth authn.Authenticator) error {
	tr, err := transport.NewWithContext(ctx, reg, auth, http.DefaultTransport, nil)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("%w: %v", errLoginRefused, err)
		}
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d)", errLoginRefused, resp.StatusCode)
	}
	return fmt.Errorf("GET /v2/: HTTP %d", resp.StatusCode)
}

// dockerConfigDir is $DOCKER_CONFIG, else ~/.docker.
func dockerConfigDir() (string, error) {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return d, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(h, ".docker"), nil
}

// saveCredentials stores user and password for key: through the credential
// helper config.json names for it, else in its "auths" (every other field
// of the file is kept). It returns where they went.
func saveCredentials(key, user, password string) (string, error) {
	dir, err := dockerConfigDir()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "config.json")
	cf := map[string]json.RawMessage{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &cf); err != nil {
				return "", fmt.Errorf("%s: %w", path, err)
			}
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	if helper := credentialHelper(cf, key); helper != "" {
		if err := helperStore(helper, key, user, password); err != nil {
			return "", err
		}
		return "credential helper docker-credential-" + helper, nil
	}
	auths := map[string]map[string]any{}
	if raw, ok := cf["auths"]; ok {
		if err := json.Unmarshal(raw, &auths); err != nil {
			return "", fmt.Errorf("%s: auths: %w", path, err)
		}
	}
	entry := auths[key]
	if entry == nil {
		entry = map[string]any{}
	}
	delete(entry, "username")
	delete(entry, "password")
	delete(entry, "identitytoken")
	entry["auth"] = base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	auths[key] = entry
	raw, err := json.Marshal(auths)
	if err != nil {
		return "", err
	}
	cf["auths"] = raw
	out, err := json.MarshalIndent(cf, "", "\t")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, append(out, '\n'), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// credentialHelper is the helper config.json names for key: credHelpers,
// else credsStore.
func credentialHelper(cf map[string]json.RawMessage, key string) string {
	var helpers map[string]string
	if raw, ok := cf["credHelpers"]; ok && json.Unmarshal(raw, &helpers) == nil && helpers[key] != "" {
		return helpers[key]
	}
	var store string
	if raw, ok := cf["credsStore"]; ok && json.Unmarshal(raw, &store) == nil {
		return store
	}
	return ""
}

// helperStore runs "docker-credential-HELPER store" with the credentials
// on its standard input, as docker does.
func helperStore(helper, key, user, password string) error {
	in, err := json.Marshal(map[string]string{"ServerURL": key, "Username": user, "Secret": password})
	if err != nil {
		return err
	}
	cmd := exec.Command("docker-credential-"+helper, "store")
	cmd.Stdin = bytes.NewReader(in)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("credential helper docker-credential-%s: %w: %s", helper, err, strings.TrimSpace(out.String()))
	}
	return nil
}
