// Command pgsctp carries PostgreSQL over SCTP in user space over UDP.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: pgsctp <cat|bench|server|proxy|status> [flags]")
	os.Exit(2)
}
