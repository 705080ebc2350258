package keys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// PassFunc returns the password of a private key. confirm asks for the
// password twice (used when a new key is encrypted). It has the shape of
// sigstore's cryptoutils.PassFunc.
type PassFunc func(confirm bool) ([]byte, error)

// PasswordEnv is the environment variable holding a key password.
const PasswordEnv = "DOSSIER_KEY_PASSWORD"

// ErrPasswordMismatch is returned when a confirmed password differs.
var ErrPasswordMismatch = errors.New("passwords do not match")

// PasswordSource says where a password may come from, in order of
// preference: the environment variable PasswordEnv (through Getenv), a file
// (File, its first line), or a terminal prompt (Prompt, nil when there is no
// terminal).
type PasswordSource struct {
	Getenv func(string) string
	File   string
	Prompt func(prompt string) ([]byte, error)
}

// PassFunc returns the PassFunc that reads from the first available source.
// With none available it returns a PassFunc that fails with ErrNoPassword.
func (s PasswordSource) PassFunc() PassFunc {
	if s.Getenv != nil {
		if pw := s.Getenv(PasswordEnv); pw != "" {
			return func(bool) ([]byte, error) { return []byte(pw), nil }
		}
	}
	if s.File != "" {
		return func(bool) ([]byte, error) { return readPasswordFile(s.File) }
	}
	if s.Prompt != nil {
		return s.prompt
	}
	return func(bool) ([]byte, error) {
		return nil, fmt.Errorf("%w: set %s, pass a password file, or run on a terminal", ErrNoPassword, PasswordEnv)
	}
}

func (s PasswordSource) prompt(confirm bool) ([]byte, error) {
	pw, err := s.Prompt("Enter password for private key: ")
	if err != nil || !confirm {
		return pw, err
	}
	again, err := s.Prompt("Enter password again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pw, again) {
		return nil, ErrPasswordMismatch
	}
	return pw, nil
}

// readPasswordFile returns the first line of path without its line ending.
func readPasswordFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading password file: %w", err)
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: password file %s is empty", ErrNoPassword, path)
	}
	return data, nil
}
