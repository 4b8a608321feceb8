package sidecartest

import "testing"

// The fake keeps the contract the real sidecar keeps (the end-to-end suite
// runs the same cases against a real one).
func TestTheFakeKeepsTheStateContract(t *testing.T) {
	StateContract(t, NewState())
}
