//go:build unix

package doctor

import "syscall"

// freeBytes returns the bytes available to an unprivileged user on the
// file system holding dir; ok is false when the system cannot say.
func freeBytes(dir string) (free uint64, ok bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}
