package host

import (
	"os"
	"syscall"
	"unsafe"
)

// pipeAvailable is the number of bytes waiting in the pipe (FIONREAD).
func pipeAvailable(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	var errno syscall.Errno
	_ = rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	})
	if errno != 0 || n < 0 {
		return 0
	}
	return int(n)
}
