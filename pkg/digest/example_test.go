package digest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dossier-audit/dossier/pkg/digest"
)

func ExampleHash() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "blobs"), 0o755)
	os.WriteFile(filepath.Join(dir, "blobs", "b1"), []byte("weights"), 0o644)
	os.Symlink(filepath.Join("blobs", "b1"), filepath.Join(dir, "model.safetensors"))

	m, err := digest.Hash(context.Background(), []string{dir}, digest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range m.Files {
		fmt.Println(f.Name, f.Annotations.Size, f.Digest.SHA256[:12], "link:", f.Annotations.LinkTarget != "")
	}
	fmt.Println(m.TreeDigest)

	_, err = digest.Hash(context.Background(), []string{filepath.Join(dir, "model.safetensors"), "/dev/null"}, digest.Options{})
	fmt.Println(errors.Is(err, digest.ErrSpecialFile))
	// Output:
	// blobs/b1 7 9a129038d9a0 link: false
	// model.safetensors 7 9a129038d9a0 link: true
	// sha256:602f2ace92be933c5078c69e05d8acd58f39b69693d49d725de943283196cfd2
	// true
}
