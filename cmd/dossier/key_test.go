package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/cmd/internal/cli"
	"github.com/dossier-audit/dossier/pkg/keys"
)

// keyEnv is an in-process environment; password is $DOSSIER_KEY_PASSWORD
// ("" for unset) and prompt answers successive terminal prompts (nil: no
// terminal).
func keyEnv(password string, prompt ...string) (*cli.Env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	env := &cli.Env{Prog: "dossier", Stdout: &out, Stderr: &errb, Now: time.Now,
		Getenv: func(k string) string {
			if k == keys.PasswordEnv {
				return password
			}
			return ""
		}}
	if prompt != nil {
		env.ReadPassword = func(string) ([]byte, error) {
			if len(prompt) == 0 {
				return nil, errors.New("no more input")
			}
			p := prompt[0]
			prompt = prompt[1:]
			return []byte(p), nil
		}
	}
	return env, &out, &errb
}

func TestKeyGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	os.WriteFile(pwFile, []byte("file-pw\n"), 0o600)
	tests := []struct {
		name    string
		env     *cli.Env
		args    []string
		code    int
		stderr  string
		private string // expected PEM type of PREFIX.key
	}{
		{"env password", env1("env-pw"), []string{"--output", dir + "/a"}, 0, "wrote", keys.EncryptedPEMType},
		{"ed25519 with password file", env1(""), []string{"--algorithm", "ed25519", "--output", dir + "/b", "--password-file", pwFile}, 0, "", keys.EncryptedPEMType},
		{"prompt confirmed", envPrompt("p", "p"), []string{"--output", dir + "/c"}, 0, "", keys.EncryptedPEMType},
		{"prompt mismatch", envPrompt("p", "q"), []string{"--output", dir + "/d"}, 2, "passwords do not match", ""},
		{"unencrypted", env1(""), []string{"--output", dir + "/e", "--unencrypted"}, 0, "", keys.PrivatePEMType},
		{"no password source", env1(""), []string{"--output", dir + "/f"}, 2, "hint: set $DOSSIER_KEY_PASSWORD", ""},
		{"refuses to overwrite", env1("pw"), []string{"--output", dir + "/a"}, 2, "already exists", ""},
		{"bad algorithm", env1("pw"), []string{"--algorithm", "rsa", "--output", dir + "/g"}, 2, "unsupported key algorithm", ""},
		{"contradicting flags", env1("pw"), []string{"--unencrypted", "--password-file", pwFile, "--output", dir + "/h"}, 2, "contradict", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := commands.Main(tt.env, append([]string{"key", "generate"}, tt.args...), "", "")
			stderr := tt.env.Stderr.(*bytes.Buffer).String()
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
			if tt.private == "" {
				return
			}
			checkKeyFiles(t, tt.env, tt.private)
		})
	}
}

func env1(pw string) *cli.Env        { e, _, _ := keyEnv(pw); return e }
func envPrompt(p ...string) *cli.Env { e, _, _ := keyEnv("", p...); return e }

// checkKeyFiles checks the files a successful 'key generate' wrote and
// that 'key fingerprint' agrees with the fingerprint it printed.
func checkKeyFiles(t *testing.T, env *cli.Env, pemType string) {
	t.Helper()
	fp := strings.TrimSpace(env.Stdout.(*bytes.Buffer).String())
	keyPath := envWrote(env)
	st, err := os.Stat(keyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key %s: %v, mode %v", keyPath, err, st.Mode())
	}
	b, _ := os.ReadFile(keyPath)
	if !bytes.HasPrefix(b, []byte("-----BEGIN "+pemType+"-----")) {
		t.Fatalf("private key starts %q, want %s", b[:40], pemType)
	}
	env2, out, _ := keyEnv("")
	if code := commands.Main(env2, []string{"key", "fingerprint", strings.TrimSuffix(keyPath, ".key") + ".pub"}, "", ""); code != 0 {
		t.Fatalf("key fingerprint exit %d", code)
	}
	if strings.TrimSpace(out.String()) != fp || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("fingerprint %q, generate printed %q", out.String(), fp)
	}
}

// envWrote returns the PREFIX.key path from the "wrote X and Y" line.
func envWrote(env *cli.Env) string {
	line := env.Stderr.(*bytes.Buffer).String()
	f := strings.Fields(line)
	for i, w := range f {
		if w == "wrote" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

func TestKeyGenerateJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env, out, _ := keyEnv("pw")
	if code := commands.Main(env, []string{"key", "generate", "--json", "--algorithm", "ed25519", "--output", dir + "/k"}, "", ""); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var info struct {
		Fingerprint, Algorithm, Public, Private string
		Encrypted                               bool
	}
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if info.Algorithm != "ed25519" || info.Public != dir+"/k.pub" || info.Private != dir+"/k.key" || !info.Encrypted || !strings.HasPrefix(info.Fingerprint, "SHA256:") {
		t.Fatalf("unexpected JSON %s", out)
	}
}

func TestLoadSignerFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen, _, _ := keyEnv("right")
	if code := commands.Main(gen, []string{"key", "generate", "--output", dir + "/k"}, "", ""); code != 0 {
		t.Fatal("generate failed")
	}
	plain, _, _ := keyEnv("")
	if code := commands.Main(plain, []string{"key", "generate", "--unencrypted", "--output", dir + "/p"}, "", ""); code != 0 {
		t.Fatal("generate failed")
	}
	tests := []struct {
		name, pw, ref string
		code          int
		hint          string
	}{
		{"right password", "right", dir + "/k.key", 0, ""},
		{"wrong password", "wrong", dir + "/k.key", 2, "the password does not decrypt"},
		{"no password", "", dir + "/k.key", 2, "set $DOSSIER_KEY_PASSWORD"},
		{"missing file", "right", dir + "/nope.key", 3, "dossier key generate"},
		{"public key given", "right", dir + "/k.pub", 2, "want a PEM key"},
		{"unknown kms", "", "nosuchkms-zz://k", 2, "sigstore-kms-NAME plugin"},
		{"unencrypted warns", "", dir + "/p.key", 0, ""},
		{"empty ref", "", "", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, errb := keyEnv(tt.pw)
			_, err := loadSignerFlag(env, tt.ref, "")
			code := env.Report(err)
			if code != tt.code || !strings.Contains(errb.String(), tt.hint) {
				t.Fatalf("exit %d, stderr %q; want %d with %q", code, errb.String(), tt.code, tt.hint)
			}
			if tt.name == "unencrypted warns" && !strings.Contains(errb.String(), "warning: ") {
				t.Errorf("no warning for an unencrypted key: %q", errb.String())
			}
		})
	}
}
