package mesh

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"regexp"
)

var stripeTestKey = regexp.MustCompile(`^sk_test_[A-Za-z0-9]+$`)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
