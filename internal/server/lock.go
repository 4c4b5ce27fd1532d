package server

import "fmt"

// DataDirInUseError is why New refuses a data dir: another apigw process
// serves it. Until several nodes share state through a shared store, one
// data dir has one process.
type DataDirInUseError struct {
	Dir string
	PID int // the holder's process id; 0 when unknown
}

func (e *DataDirInUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("data dir %s is in use by another apigw process (pid %d)", e.Dir, e.PID)
	}
	return fmt.Sprintf("data dir %s is in use by another apigw process", e.Dir)
}
