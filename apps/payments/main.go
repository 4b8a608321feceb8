// Command payments charges buyers for their orders, exactly once per order,
// with Stripe, and announces each payment with payment:created. It keeps a
// copy of every order from order:created and order:cancelled.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "payments:", err)
		os.Exit(1)
	}
}
