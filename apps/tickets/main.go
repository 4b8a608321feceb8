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

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tickets:", err)
		os.Exit(1)
	}
}
