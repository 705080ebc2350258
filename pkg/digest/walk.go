package digest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// entry is one regular file to hash.
type entry struct {
	name string // recorded name: slash path, root prefix included
	path string // resolved path that is opened
	link string // linkTarget annotation, "" when not reached through a link
	id   fileID // identity at walk time
}

// root is one argument of Hash, resolved.
type root struct {
	real   string // absolute path with every link resolved
	base   string // base name of the path as given
	prefix string // prefix of recorded names: "" or base + "/"
}

// walker collects the entries of every root.
type walker struct {
	opts    *Options
	match   *matcher
	entries []entry
}

func newRoot(arg string, prefixed bool) (*root, error) {
	abs, err := filepath.Abs(arg)
	if err != nil {
		return nil, fmt.Errorf("resolving root %s: %w", arg, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("resolving root %s: %w", arg, err)
	}
	r := &root{real: real, base: filepath.Base(abs)}
	if err := checkName(r.base); err != nil {
		return nil, err
	}
	if prefixed {
		if r.base == string(filepath.Separator) || r.base == "." {
			return nil, fmt.Errorf("%w: root %s has no base name to prefix names with", ErrBadName, arg)
		}
		r.prefix = r.base + "/"
	}
	return r, nil
}

// inside reports whether the resolved path p is r or below it.
func (r *root) inside(p string) bool {
	dir := r.real
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return p == r.real || strings.HasPrefix(p, dir)
}

// target returns the linkTarget annotation for the resolved path p: its
// path relative to the root ("../" first when outside it), absolute only
// where no relative path exists (another volume).
func (r *root) target(p string) string {
	rel, err := filepath.Rel(r.real, p)
	if err != nil {
		return filepath.ToSlash(p)
	}
	return filepath.ToSlash(rel)
}

func (w *walker) walkRoot(r *root) error {
	fi, err := os.Stat(r.real)
	if err != nil {
		return fmt.Errorf("reading root: %w", err)
	}
	switch {
	case fi.Mode().IsRegular():
		w.add(r.base, r.real, "", fi)
		return nil
	case fi.IsDir():
		return w.enterDir(r, r.real, "", false, map[string]bool{})
	}
	return fmt.Errorf("%w: %s (%s)", ErrSpecialFile, r.real, fi.Mode().Type())
}

func (w *walker) add(name, path, link string, fi fs.FileInfo) {
	w.entries = append(w.entries, entry{name: name, path: path, link: link, id: idOf(fi)})
}

// enterDir walks the resolved directory dir, known in the root as rel;
// stack holds the directories being walked, to catch link cycles.
func (w *walker) enterDir(r *root, dir, rel string, linked bool, stack map[string]bool) error {
	if stack[dir] {
		return fmt.Errorf("%w: %s leads back to %s", ErrLinkCycle, r.prefix+rel, dir)
	}
	stack[dir] = true
	defer delete(stack, dir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading directory: %w", err)
	}
	for _, de := range ents {
		name := de.Name()
		if rel != "" {
			name = rel + "/" + name
		}
		full := r.prefix + name
		if err := checkName(full); err != nil {
			return err
		}
		if w.match.excluded(full) {
			continue
		}
		p := filepath.Join(dir, de.Name())
		if err := w.visit(r, p, name, de.Type(), linked, stack); err != nil {
			return err
		}
	}
	return nil
}

// visit handles the directory entry at path p, known in the root as rel.
func (w *walker) visit(r *root, p, rel string, typ fs.FileMode, linked bool, stack map[string]bool) error {
	switch {
	case typ&fs.ModeSymlink != 0:
		return w.visitLink(r, p, rel, stack)
	case typ.IsDir():
		return w.enterDir(r, p, rel, linked, stack)
	case !typ.IsRegular():
		return fmt.Errorf("%w: %s (%s)", ErrSpecialFile, p, typ)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("reading file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s changed type during the walk", ErrChangedWhileHashing, p)
	}
	link := ""
	if linked {
		link = r.target(p)
	}
	w.add(r.prefix+rel, p, link, fi)
	return nil
}

// visitLink resolves the link at p and hashes its target.
func (w *walker) visitLink(r *root, p, rel string, stack map[string]bool) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s", ErrBrokenLink, p)
	case isLoop(err):
		return fmt.Errorf("%w: %s", ErrLinkCycle, p)
	case err != nil:
		return fmt.Errorf("resolving link: %w", err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("resolving link: %w", err)
	}
	if !r.inside(real) && !w.opts.AllowExternalLinks {
		return fmt.Errorf("%w: %s -> %s", ErrLinkEscapes, p, real)
	}
	switch {
	case fi.IsDir():
		return w.enterDir(r, real, rel, true, stack)
	case fi.Mode().IsRegular():
		w.add(r.prefix+rel, real, r.target(real), fi)
		return nil
	}
	return fmt.Errorf("%w: %s -> %s (%s)", ErrSpecialFile, p, real, fi.Mode().Type())
}
