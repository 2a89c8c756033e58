package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/wharf-ecs/wharf/internal/agent"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/runtime/sim"
)

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 signed by
// it, and returns the paths of the CA, the certificate and its key.
func writeTestPKI(t *testing.T) (caFile, certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wharf test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "wharf server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER)
}

func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// The server serves HTTPS with --tls-cert/--tls-key: the SDK and an agent
// that trust the CA work, and a client that does not trust it is refused.
func TestTLSServerWithSDKAndAgent(t *testing.T) {
	caFile, certFile, keyFile := writeTestPKI(t)
	s := ecstest.StartWith(t, ecstest.Options{TLSCert: certFile, TLSKey: keyFile})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL = %s; want https", s.URL())
	}
	ctx := context.Background()
	c := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL()), HTTPClient: trusting(t, caFile), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey, ""),
	})
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("tls")}); err != nil {
		t.Fatalf("CreateCluster over TLS: %v", err)
	}
	untrusting := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL()), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey, ""),
	})
	if _, err := untrusting.ListClusters(ctx, &ecs.ListClustersInput{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the CA: err = %v; want a certificate error", err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was answered 200 by a TLS server")
		}
	}

	ag, err := agent.New(agent.Config{
		Endpoint: s.URL(), Cluster: "tls", CPU: 1024, MemoryMiB: 1024,
		Runtime: sim.New(sim.Options{}), HTTPClient: trusting(t, caFile),
		Credentials: ecstest.TestCredentials, PollWait: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ag.Run(actx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for ag.InstanceArn() == "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("tls")})
	if err != nil || len(out.ContainerInstanceArns) != 1 || out.ContainerInstanceArns[0] != ag.InstanceArn() {
		t.Fatalf("instances of cluster tls = %v, %v; want the agent's %s", out, err, ag.InstanceArn())
	}
}
