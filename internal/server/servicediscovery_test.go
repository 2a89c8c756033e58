package server_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/miekg/dns"

	"github.com/wharf-ecs/wharf/internal/auth"
	"github.com/wharf-ecs/wharf/internal/ecstest"
	"github.com/wharf-ecs/wharf/internal/sdapi"
	"github.com/wharf-ecs/wharf/internal/server"
)

// freeDNSPort finds a port free on both UDP and TCP of the loopback.
func freeDNSPort(t *testing.T) string {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := u.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		u.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	t.Fatal("no port free on both UDP and TCP")
	return ""
}

func sdClientAs(url, id, secret string) *servicediscovery.Client {
	return servicediscovery.New(servicediscovery.Options{
		Region: secRegion, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
}

// TestServiceDiscoveryWiring runs a server with --dns-listen: the Cloud Map
// API is signed for servicediscovery and authorized on the namespace and
// service ARNs a request names, and the DNS server answers over UDP and TCP.
func TestServiceDiscoveryWiring(t *testing.T) {
	dnsAddr := freeDNSPort(t)
	creds := secCreds(t, map[string][]string{"alice": {secPolicy(
		`{"Effect": "Allow", "Action": "servicediscovery:*", "Resource": "*"}`,
		`{"Effect": "Deny", "Action": "servicediscovery:*", "Resource": "arn:aws:servicediscovery:us-east-1:123456789012:service/*"}`,
	)}})
	srv, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Credentials: creds, DNSListen: dnsAddr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server shutdown: %v", err)
		}
	})
	waitUp(t, srv.URL())

	// A second server cannot take the DNS address, and says which.
	if _, err := server.New(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), DNSListen: dnsAddr}); err == nil || !strings.Contains(err.Error(), "DNS server") {
		t.Fatalf("second server on the DNS address: err = %v; want a DNS server listen error", err)
	}

	root := sdClientAs(srv.URL(), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey)
	op, err := root.CreatePrivateDnsNamespace(ctx, &servicediscovery.CreatePrivateDnsNamespaceInput{Name: aws.String("wired.local"), Vpc: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := root.GetOperation(ctx, &servicediscovery.GetOperationInput{OperationId: op.OperationId})
	if err != nil {
		t.Fatal(err)
	}
	nsID := got.Operation.Targets["NAMESPACE"]
	svc, err := root.CreateService(ctx, &servicediscovery.CreateServiceInput{Name: aws.String("db"), NamespaceId: aws.String(nsID),
		DnsConfig: &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(3)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String("db-1"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "192.0.2.10"}}); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("db.wired.local.", dns.TypeA)
		c := &dns.Client{Net: network, Timeout: 2 * time.Second}
		var r *dns.Msg
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, _, err = c.Exchange(m, dnsAddr)
			if err == nil && len(r.Answer) == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "192.0.2.10" || r.Answer[0].Header().Ttl != 3 {
			t.Fatalf("%s: db.wired.local A = %v, %v; want 192.0.2.10 with TTL 3", network, r, err)
		}
	}

	// Alice may do anything but touch services.
	id, secret := secKey("alice")
	alice := sdClientAs(srv.URL(), id, secret)
	if _, err := alice.GetNamespace(ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(nsID)}); err != nil {
		t.Fatalf("alice GetNamespace: %v", err)
	}
	if _, err := alice.ListServices(ctx, &servicediscovery.ListServicesInput{}); err != nil {
		t.Fatalf("alice ListServices: %v", err)
	}
	_, err = alice.GetService(ctx, &servicediscovery.GetServiceInput{Id: svc.Service.Id})
	secWantErr(t, "alice GetService", err, "AccessDeniedException", http.StatusBadRequest, "servicediscovery:GetService")
	_, err = alice.RegisterInstance(ctx, &servicediscovery.RegisterInstanceInput{ServiceId: svc.Service.Id, InstanceId: aws.String("x"),
		Attributes: map[string]string{"AWS_INSTANCE_IPV4": "192.0.2.11"}})
	secWantErr(t, "alice RegisterInstance", err, "AccessDeniedException", http.StatusBadRequest, "servicediscovery:RegisterInstance")

	// A request signed for another service is refused.
	body := []byte(`{}`)
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", sdapi.TargetPrefix+".ListNamespaces")
	secSign(t, req, secHash(body), ecstest.TestAccessKeyID, ecstest.TestSecretAccessKey, secRegion, "ecs", time.Now())
	if a := secSend(t, req); a.Code != auth.CodeInvalidSignature || !strings.Contains(a.Message, "'servicediscovery'") {
		t.Fatalf("request signed for ecs: %+v; want %s naming servicediscovery", a, auth.CodeInvalidSignature)
	}
}

func waitUp(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s did not become healthy", url)
}
