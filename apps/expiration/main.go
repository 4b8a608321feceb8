// Command expiration is the boring hero: when an order is created it schedules
// the order's deadline as a Dapr actor reminder (one actor per order); when the
// reminder fires before the order was cancelled, it publishes
// expiration:complete so that orders cancels the order and tickets releases
// the ticket. Reminders live in the Dapr scheduler, so they outlive this app.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "expiration:", err)
		os.Exit(1)
	}
}
