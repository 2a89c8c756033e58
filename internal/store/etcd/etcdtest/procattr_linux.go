package etcdtest

import "syscall"

// procAttr has the kernel kill the member if the test binary dies without
// cleaning up, so no etcd outlives a crashed or timed-out test.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
