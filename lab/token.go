package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceAccountKubeconfig writes a kubeconfig that authenticates as the
// ServiceAccount namespace/name with a token from the TokenRequest API
// (as a pod's projected token does), valid for expiry, and returns its
// path: a client that runs as the ServiceAccount, not as admin.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name string, expiry time.Duration) (string, error) {
	seconds := int64(expiry / time.Second)
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: %q, certificate-authority: %q}
users:
- name: %q
  user: {token: %q}
contexts:
- name: lab
  context: {cluster: lab, user: %q}
current-context: lab
`, c.Server, c.CAFile, name, tr.Status.Token, name)
	p := filepath.Join(c.Dir, "sa-"+sanitize(namespace)+"-"+sanitize(name)+".kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		return "", err
	}
	return p, nil
}
