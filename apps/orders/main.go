// Command orders takes a ticket for a buyer. It keeps its own copy of every
// ticket (from ticket:created and ticket:updated) and decides, atomically, which
// order holds it; it cancels orders on request or on expiration:complete, and
// completes them on payment:created.
package main

import (
	"context"
	"fmt"
	"os"
)

// main serves (`orders`) or migrates its store (`orders migrate`).
func main() {
	run := run
	switch args := os.Args[1:]; {
	case len(args) == 1 && args[0] == "migrate":
		run = runMigrations
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: orders [migrate]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}
