// Command expiration is the boring hero: when an order is created it schedules
// the order's deadline with a Dapr actor reminder (one ExpirationSlot actor and
// reminder per second of deadlines, see expiration.go); when an order's
// deadline passes before it was cancelled, it publishes expiration:complete so
// that orders cancels the order and tickets releases the ticket. Reminders
// live in the Dapr scheduler, so they outlive this app.
package main

import (
	"context"
	"fmt"
	"os"
)

// main serves (`expiration`) or migrates its store (`expiration migrate`).
func main() {
	run := run
	switch args := os.Args[1:]; {
	case len(args) == 1 && args[0] == "migrate":
		run = runMigrations
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: expiration [migrate]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "expiration:", err)
		os.Exit(1)
	}
}
