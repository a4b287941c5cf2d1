//go:build e2e

package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestFixtureKeys(t *testing.T) {
	t.Run("deterministic and distinct per label", func(t *testing.T) {
		if !bytes.Equal(OpenSSHPrivateKey("a", "c"), OpenSSHPrivateKey("a", "c")) ||
			!bytes.Equal(PKCS8PrivateKeyPEM("a"), PKCS8PrivateKeyPEM("a")) {
			t.Error("same label, different keys")
		}
		if bytes.Equal(PKCS8PrivateKeyPEM("a"), PKCS8PrivateKeyPEM("b")) {
			t.Error("different labels, same key")
		}
	})
	t.Run("PKCS8 parses as Ed25519", func(t *testing.T) {
		b, _ := pem.Decode(PKCS8PrivateKeyPEM("a"))
		if b == nil || b.Type != "PRIVATE KEY" {
			t.Fatalf("PEM block %v", b)
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := k.(ed25519.PrivateKey); !ok {
			t.Errorf("key type %T", k)
		}
	})
	t.Run("ssh-keygen reads the OpenSSH key", func(t *testing.T) {
		if _, err := exec.LookPath("ssh-keygen"); err != nil {
			t.Skip("ssh-keygen not installed (Debian package openssh-client)")
		}
		path := filepath.Join(t.TempDir(), "id_ed25519")
		if err := os.WriteFile(path, OpenSSHPrivateKey("a", "deploy@ci"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ssh-keygen", "-y", "-f", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -y: %v: %s", err, out)
		}
		pub := fixtureKey("a").Public().(ed25519.PublicKey)
		blob := append([]byte{0, 0, 0, 11}, "ssh-ed25519"...)
		blob = append(blob, 0, 0, 0, 32)
		blob = append(blob, pub...)
		want := "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob)
		if !strings.HasPrefix(string(out), want) {
			t.Errorf("ssh-keygen -y = %q, want %q", out, want)
		}
	})
}
