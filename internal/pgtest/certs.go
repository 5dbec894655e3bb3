package pgtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

type tlsFiles struct {
	ca                    string
	serverCert, serverKey string
	clientCert, clientKey string
}

// writeCerts makes a CA, a server certificate for localhost, 127.0.0.1 and
// ::1, and a client certificate whose CN is CertUser (PostgreSQL's cert
// authentication maps the CN to the role), all signed by the CA, and writes
// them as PEM files into dir. Keys are written 0600, as both PostgreSQL and
// libpq require.
func writeCerts(dir string) (*tlsFiles, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pgtest CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}

	leaf := func(serial int64, cn string, server bool) (certDER []byte, key *ecdsa.PrivateKey, err error) {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.DNSNames = []string{"localhost"}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		certDER, err = x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		return certDER, key, err
	}
	srvDER, srvKey, err := leaf(2, "localhost", true)
	if err != nil {
		return nil, err
	}
	cliDER, cliKey, err := leaf(3, CertUser, false)
	if err != nil {
		return nil, err
	}

	f := &tlsFiles{
		ca:         filepath.Join(dir, "ca.crt"),
		serverCert: filepath.Join(dir, "server.crt"),
		serverKey:  filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.crt"),
		clientKey:  filepath.Join(dir, "client.key"),
	}
	if err := writePEM(f.ca, "CERTIFICATE", caDER, 0o644); err != nil {
		return nil, err
	}
	if err := writePEM(f.serverCert, "CERTIFICATE", srvDER, 0o644); err != nil {
		return nil, err
	}
	if err := writePEM(f.clientCert, "CERTIFICATE", cliDER, 0o644); err != nil {
		return nil, err
	}
	for path, key := range map[string]*ecdsa.PrivateKey{f.serverKey: srvKey, f.clientKey: cliKey} {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := writePEM(path, "PRIVATE KEY", der, 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
