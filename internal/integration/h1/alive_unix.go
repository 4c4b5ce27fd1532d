//go:build unix

package h1

import (
	"net"
	"syscall"
	"time"
)

// alive reports whether an idle connection is still open: a peek that
// would block means nothing arrived, neither data nor the backend's close.
// It costs one system call and is made only for connections idle for a
// while.
func alive(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	// The previous exchange's deadline may have passed while the
	// connection sat idle; the peek must not fail on it.
	if nc.SetReadDeadline(time.Time{}) != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is what an idle, open connection looks like;
		// bytes nobody asked for or an end of stream mean it is unusable.
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true
	})
	return err == nil && open
}
