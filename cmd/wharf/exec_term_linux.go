//go:build linux

package main

import (
	"context"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// terminal is the caller's terminal while `wharf exec` runs: raw mode, so
// every key reaches the remote command, and its size as it changes.
type terminal struct {
	in, out *os.File
	saved   *unix.Termios
}

// openTerminal returns the terminal when both stdin and stdout are one.
func openTerminal(in, out *os.File) *terminal {
	for _, f := range []*os.File{in, out} {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
			return nil
		}
	}
	return &terminal{in: in, out: out}
}

func (t *terminal) raw() error {
	fd := int(t.in.Fd())
	saved, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return err
	}
	t.saved = saved
	return nil
}

func (t *terminal) restore() {
	if t.saved != nil {
		_ = unix.IoctlSetTermios(int(t.in.Fd()), unix.TCSETS, t.saved)
	}
}

// sizes delivers the terminal's size now and at every SIGWINCH.
func (t *terminal) sizes(ctx context.Context) <-chan [2]uint16 {
	ch := make(chan [2]uint16, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	send := func() {
		if ws, err := unix.IoctlGetWinsize(int(t.out.Fd()), unix.TIOCGWINSZ); err == nil {
			select {
			case ch <- [2]uint16{ws.Col, ws.Row}:
			default:
			}
		}
	}
	send()
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				send()
			}
		}
	}()
	return ch
}
