package main

import (
	"os"
	"testing"
)

// asMainEnv makes the test binary behave as the pgsctp command: tests that
// need the command in another process (a network namespace) run
// os.Args[0] with it set, instead of building the binary.
const asMainEnv = "PGSCTP_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}
