//go:build !linux

package main

import (
	"context"
	"os"
)

// terminal: raw mode is implemented for Linux only; elsewhere wharf exec
// sends its input as it is, without a terminal.
type terminal struct{}

func openTerminal(_, _ *os.File) *terminal               { return nil }
func (*terminal) raw() error                             { return nil }
func (*terminal) restore()                               {}
func (*terminal) sizes(context.Context) <-chan [2]uint16 { return nil }
