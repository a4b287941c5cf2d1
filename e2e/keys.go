//go:build e2e

package e2e

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"strings"
)

// The secrets fixture plants two private keys. They are made here from fixed seeds rather than
// committed, so that the repository holds no private key file, and they are the same on every
// run, so that buildah's layer cache keeps working.

func fixtureKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("imgharden e2e fixture key: " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

// PKCS8PrivateKeyPEM returns a PEM "PRIVATE KEY" block (PKCS #8, Ed25519) derived from label.
func PKCS8PrivateKeyPEM(label string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(fixtureKey(label))
	if err != nil { // cannot happen for an Ed25519 key
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// OpenSSHPrivateKey returns an unencrypted "OPENSSH PRIVATE KEY" (openssh-key-v1, Ed25519)
// derived from label, in the format ssh-keygen writes (PROTOCOL.key), with a fixed check word
// so that the output is deterministic.
func OpenSSHPrivateKey(label, comment string) []byte {
	key := fixtureKey(label)
	pub := key.Public().(ed25519.PublicKey)

	str := func(b []byte, s []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		return append(b, s...)
	}
	var pubBlob []byte
	pubBlob = str(pubBlob, []byte("ssh-ed25519"))
	pubBlob = str(pubBlob, pub)

	check := binary.BigEndian.Uint32(pub[:4])
	var priv []byte
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = str(priv, []byte("ssh-ed25519"))
	priv = str(priv, pub)
	priv = str(priv, key) // seed || public key, 64 bytes
	priv = str(priv, []byte(comment))
	for i := byte(1); len(priv)%8 != 0; i++ {
		priv = append(priv, i)
	}

	blob := []byte("openssh-key-v1\x00")
	blob = str(blob, []byte("none")) // cipher
	blob = str(blob, []byte("none")) // kdf
	blob = str(blob, nil)            // kdf options
	blob = binary.BigEndian.AppendUint32(blob, 1)
	blob = str(blob, pubBlob)
	blob = str(blob, priv)

	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString("-----BEGIN OPENSSH PRIVATE KEY-----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n-----END OPENSSH PRIVATE KEY-----\n")
	return []byte(b.String())
}
