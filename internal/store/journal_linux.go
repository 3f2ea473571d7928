//go:build linux

package store

import (
	"os"
	"syscall"
	"unsafe"
)

// appendLine writes b to f, the CDR journal, as a raw write(2): for a
// regular file it returns as soon as the page cache has the bytes, and a
// raw system call leaves the Go scheduler out of it. Through os.File.Write
// (syscall.Syscall) every CDR — 2,000 a second at the bench's rate — woke
// the runtime's monitor thread, which then polled every 20 µs: about 5 %
// of the process's CPU in nanosleep (issue #8, docs/performance.md). The
// price: were the kernel to block the write (dirty page throttling), the
// calling goroutine would hold its P meanwhile.
func appendLine(f *os.File, fd uintptr, b []byte) error {
	for len(b) > 0 {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			b = b[n:]
		case syscall.EINTR, syscall.EAGAIN:
			continue
		default:
			return &os.PathError{Op: "write", Path: f.Name(), Err: e}
		}
	}
	return nil
}
