// Package secrettest generates fake credentials for tests: tokens with the right shape,
// real private keys, and CA bundles. Values are built at run time, so the repository holds
// no token-shaped literal that a push-protection scanner (or a reader) could take for a leak.
// Token generators are deterministic for a seed.
package secrettest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"
)

// Alphabets of the generated values.
const (
	Alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	Base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	B64    = Alnum + "+/"
	URLB64 = Alnum + "-_"
)

// Fake returns prefix + n characters drawn from alphabet, deterministic for a seed.
func Fake(seed uint64, prefix string, n int, alphabet string) string {
	r := mrand.New(mrand.NewPCG(seed, 0x5eed))
	var b strings.Builder
	b.WriteString(prefix)
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

// AWSKeyID is a long-term AWS access key ID (AKIA + 16 base32).
func AWSKeyID(seed uint64) string { return Fake(seed, "AKIA", 16, Base32) }

// AWSSecret is an AWS secret access key (40 base64 characters).
func AWSSecret(seed uint64) string { return Fake(seed, "", 40, B64) }

// GitHub is a classic GitHub personal access token.
func GitHub(seed uint64) string { return Fake(seed, "ghp_", 36, Alnum) }

// GitHubPAT is a fine-grained GitHub personal access token.
func GitHubPAT(seed uint64) string {
	return Fake(seed, "github_pat_", 22, Alnum) + "_" + Fake(seed+1, "", 59, Alnum)
}

// GitLab is a GitLab personal access token.
func GitLab(seed uint64) string { return Fake(seed, "glpat-", 20, URLB64) }

// Slack is a Slack bot token.
func Slack(seed uint64) string {
	return "xoxb-" + Fake(seed, "", 12, "0123456789") + "-" + Fake(seed+1, "", 13, "0123456789") + "-" + Fake(seed+2, "", 24, Alnum)
}

// SlackWebhook is a Slack incoming webhook URL.
func SlackWebhook(seed uint64) string {
	return "https://hooks.slack.com/services/T" + Fake(seed, "", 8, Base32) + "/B" + Fake(seed+1, "", 8, Base32) + "/" + Fake(seed+2, "", 24, Alnum)
}

// NPM is an npm access token.
func NPM(seed uint64) string { return Fake(seed, "npm_", 36, Alnum) }

// PyPI is a PyPI API token.
func PyPI(seed uint64) string { return Fake(seed, "pypi-AgEIcHlwaS5vcmc", 120, URLB64) }

// DockerHub is a Docker Hub personal access token.
func DockerHub(seed uint64) string { return Fake(seed, "dckr_pat_", 27, URLB64) }

// Password is a random 14-character password.
func Password(seed uint64) string { return Fake(seed, "", 14, Alnum) }

// PEMBody wraps random base64 in 64-column lines, like a real key body.
func PEMBody(seed uint64, n int) string {
	s := Fake(seed, "", n, B64)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// PEM is a private key block of type typ ("RSA PRIVATE KEY") with a random body.
func PEM(seed uint64, typ string) string {
	return "-----BEGIN " + typ + "-----\n" + PEMBody(seed, 600) + "-----END " + typ + "-----\n"
}

// ECKey is a real PKCS#8 and SEC 1 private key pair for the same key.
func ECKey(t testing.TB) (pkcs8, sec1 string, key *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: s1})), k
}

// CABundle is a PEM bundle of n self-signed CA certificates, like
// /etc/ssl/certs/ca-certificates.crt, with the comment lines update-ca-certificates writes.
func CABundle(t testing.TB, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i + 1)),
			Subject:      pkix.Name{CommonName: "Test Root CA " + string(rune('A'+i%26))},
			NotBefore:    time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("# Issuer: CN=Test Root CA (private key kept offline)\n")
		b.WriteString(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
		if i%4 == 0 {
			b.WriteString(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
		}
	}
	return b.String()
}

// DockerAuth is the base64 "user:password" of a Docker config auth field.
func DockerAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
