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

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}
