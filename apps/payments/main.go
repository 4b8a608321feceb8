// Command payments charges buyers for their orders, exactly once per order,
// with Stripe, and announces each payment with payment:created. It keeps a
// copy of every order from order:created and order:cancelled.
package main

import (
	"context"
	"fmt"
	"os"
)

// main serves (`payments`) or migrates its store (`payments migrate`).
func main() {
	run := run
	switch args := os.Args[1:]; {
	case len(args) == 1 && args[0] == "migrate":
		run = runMigrations
	case len(args) > 0:
		fmt.Fprintln(os.Stderr, "usage: payments [migrate]")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "payments:", err)
		os.Exit(1)
	}
}
