package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ServerError says the API server failed a read at one stage (discovery,
// or the LIST of one kind) in a way that ends the read. Its text names the
// server and the stage, and says "cannot reach" only when the server could
// not be reached: a server that accepts the connection and never answers,
// or answers 500 or something that is not the Kubernetes API, is reported
// as what it is.
type ServerError struct {
	Host  string
	Stage string // "discovery (server version)", "LIST pods"
	// Limit is the request timeout in force, for the message; 0 if unknown.
	Limit time.Duration
	Err   error
}

func (e *ServerError) Error() string {
	switch {
	case e.Unreachable():
		return fmt.Sprintf("cannot reach %s: %s", e.Host, unreachableReason(e.Err))
	case apierrors.IsUnauthorized(e.Err):
		return fmt.Sprintf("%s rejected the credentials (401 Unauthorized) at %s", e.Host, e.Stage)
	case e.Timeout() && e.Limit > 0:
		return fmt.Sprintf("%s did not answer %s within %s", e.Host, e.Stage, e.Limit)
	case e.Timeout():
		return fmt.Sprintf("%s did not answer %s in time: %s", e.Host, e.Stage, innermost(e.Err))
	}
	var status apierrors.APIStatus
	if errors.As(e.Err, &status) && status.Status().Code != 0 {
		s := status.Status()
		return fmt.Sprintf("%s answered %s with HTTP %d %s: %s", e.Host, e.Stage, s.Code, s.Reason, firstLineOf(s.Message))
	}
	return fmt.Sprintf("%s answered %s with something that is not the Kubernetes API: %s", e.Host, e.Stage, firstLineOf(e.Err.Error()))
}

func (e *ServerError) Unwrap() error { return e.Err }

// Unreachable reports that no answer could be had at all: the connection
// was refused, the name did not resolve, the route or TLS failed.
func (e *ServerError) Unreachable() bool {
	if errors.Is(e.Err, syscall.ECONNREFUSED) || errors.Is(e.Err, syscall.EHOSTUNREACH) || errors.Is(e.Err, syscall.ENETUNREACH) {
		return true
	}
	var op *net.OpError
	if errors.As(e.Err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var record tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	return errors.As(e.Err, &dns) || errors.As(e.Err, &unknownCA) || errors.As(e.Err, &hostname) ||
		errors.As(e.Err, &invalid) || errors.As(e.Err, &record) || errors.As(e.Err, &verify)
}

// Timeout reports that the server took the request and did not answer
// within the request timeout.
func (e *ServerError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.Err, &ne) && ne.Timeout()
}

// CredentialsRejected reports a 401.
func (e *ServerError) CredentialsRejected() bool { return apierrors.IsUnauthorized(e.Err) }

func unreachableReason(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &op):
		return op.Err.Error()
	}
	return innermost(err)
}

// innermost is the reason under client-go's and net/http's wrapping
// ("Get \"https://...\": ...").
func innermost(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	const max = 200
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
