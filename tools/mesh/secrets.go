package mesh

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// secrets are what the local secret store serves: the apps' keys, and the
// infrastructure URLs the components reference with secretKeyRef.
func (m *Mesh) writeSecrets() error {
	path := filepath.Join(m.dataDir, "secrets.json")
	secrets := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &secrets)
	}
	// Keys persist across restarts (sessions stay valid); URLs follow the ports.
	if secrets["jwt-key"] == "" {
		secrets["jwt-key"] = randomKey(48)
	}
	if secrets["stripe-webhook-secret"] == "" {
		secrets["stripe-webhook-secret"] = "whsec_" + randomKey(24)
	}
	if !stripeTestKey.MatchString(secrets["stripe-secret-key"]) {
		// stripe-mock accepts any well-formed test key: sk_test_ and letters or digits.
		secrets["stripe-secret-key"] = "sk_test_" + randomHex(16)
	}
	m.brokerSecrets(secrets)
	for _, db := range stateStores {
		secrets["postgres-"+db] = m.PostgresURL(db)
	}
	b, err := json.MarshalIndent(secrets, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Secret returns a value of the local secret store (.mesh/secrets.json).
func (m *Mesh) Secret(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(m.dataDir, "secrets.json"))
	if err != nil {
		return "", err
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		return "", err
	}
	v, ok := secrets[name]
	if !ok {
		return "", fmt.Errorf("no secret %q", name)
	}
	return v, nil
}

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
