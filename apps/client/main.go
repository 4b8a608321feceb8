// Command client is the web storefront: server-rendered HTML pages that read
// and write through its own Dapr sidecar, by service invocation of auth,
// tickets, orders and payments. It holds no data and never checks the session
// itself: it forwards the user's cookie and asks auth who is signed in.
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
}
