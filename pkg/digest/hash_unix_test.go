//go:build unix

package digest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestHashRefusesFIFO(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string]string{"f": "x"}, map[string]string{"to-fifo": "pipe"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Skip(err)
	}
	_, err := Hash(context.Background(), []string{dir}, Options{})
	if !errors.Is(err, ErrSpecialFile) || !strings.Contains(err.Error(), "pipe") {
		t.Errorf("err = %v, want ErrSpecialFile naming the FIFO", err)
	}
	_, err = Hash(context.Background(), []string{dir}, Options{Excludes: []string{"pipe"}})
	if !errors.Is(err, ErrSpecialFile) || !strings.Contains(err.Error(), "to-fifo") {
		t.Errorf("link to FIFO: err = %v, want ErrSpecialFile naming the link", err)
	}
	m := mustHash(t, []string{dir}, Options{Excludes: []string{"pipe", "to-*"}})
	if m.FileCount != 1 {
		t.Errorf("excluded FIFO: files %v", names(m))
	}
}
