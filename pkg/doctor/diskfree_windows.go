//go:build windows

package doctor

import "golang.org/x/sys/windows"

// freeBytes returns the bytes available to the caller on the volume holding
// dir; ok is false when the system cannot say.
func freeBytes(dir string) (free uint64, ok bool) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	if windows.GetDiskFreeSpaceEx(p, &free, nil, nil) != nil {
		return 0, false
	}
	return free, true
}
