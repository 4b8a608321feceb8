// Command auth signs users up and in. It issues the session JWT that every
// other service verifies on its own; auth never publishes an event.
package main

import (
	"context"
	"fmt"
	"os"
)

// main serves (`auth`) or migrates its store (`auth migrate`).
func main() {
	run := run
	switch args := os.Args[1:]; {
	case len(args) == 1 && args[0] == "migrate":
		run = runMigrations
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: auth [migrate]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}
