package e2e

import (
	"fmt"
	"testing"

	"github.com/tixmesh/ticketing/apps/pkg/sidecar"
	"github.com/tixmesh/ticketing/apps/pkg/sidecar/sidecartest"
)

// The real sidecar keeps the contract the services' unit tests assume of
// their fake (sidecartest.StateContract runs on both): here through auth's
// sidecar and its own store, PostgreSQL behind it.
func TestTheSidecarKeepsTheStateContract(t *testing.T) {
	ports := the.App("auth")
	if ports == nil {
		t.Skip("auth is not running")
	}
	sidecartest.StateContract(t, sidecar.NewState(fmt.Sprintf("127.0.0.1:%d", ports.DaprHTTP), "auth-store"))
}
