// Command tickets lists tickets for sale and lets their owners edit them. It
// is the source of truth for who holds a ticket: it reserves a ticket on
// order:created and frees it on order:cancelled, announcing every change as
// ticket:created or ticket:updated.
package main

import (
	"context"
	"fmt"
	"os"
)

// main serves (`tickets`) or migrates its store (`tickets migrate`).
func main() {
	run := run
	switch args := os.Args[1:]; {
	case len(args) == 1 && args[0] == "migrate":
		run = runMigrations
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: tickets [migrate]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tickets:", err)
		os.Exit(1)
	}
}
