package kube

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A server that accepts the connection and never answers the handshake
// costs the timeout, not more.
func TestPeerCertificateTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			held <- c // open and silent until the test ends
		}
	}()
	defer func() {
		if c := <-held; c != nil {
			c.Close()
		}
	}()
	_, err = PeerCertificate(context.Background(), nil, ln.Addr().String(), "kubernetes", 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{
		"https://10.0.0.1:6443": "10.0.0.1:6443", "https://k8s.example.org": "k8s.example.org:443",
		"10.0.0.1:6443": "10.0.0.1:6443", "https://[fd00::1]:6443/": "[fd00::1]:6443",
	} {
		if got, err := hostPort(in); err != nil || got != want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := hostPort("http://10.0.0.1:8080"); err == nil {
		t.Error("http: no error")
	}
}
