package refs

import (
	"bytes"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/premortem/premortem/internal/address"
	"github.com/premortem/premortem/internal/snapshot"
)

func TestExcerpt(t *testing.T) {
	const host = "10.64.0.117"
	long := strings.Repeat("abcdefghij ", 10)
	for _, tc := range []struct{ name, text, want string }{
		{"line of a block", "a: 1\n    - https://10.64.0.117:6443\nb: 2", "- https://10.64.0.117:6443"},
		{"whole short line", "--apiserver=https://10.64.0.117:6443", "--apiserver=https://10.64.0.117:6443"},
		{"cut both sides", long + host + " " + long,
			"…efghij abcdefghij abcdefghij abcdefghij " + host + " abcdefghij abcdefghij abcdefghij abcdef…"},
		{"cut in runes", strings.Repeat("é", 50) + host, "…" + strings.Repeat("é", 40) + host},
		{"token in the line", "server: https://10.64.0.117:6443 token: abc123", "server: https://10.64.0.117:6443 token: [masked]"},
		// Masked whole before the cut: no tail of it is left unrecognised.
		{"credential longer than the window", "password=" + strings.Repeat("x", 60) + " " + host, "password=[masked] " + host},
		// Past maskBytes a key is out of sight, but a key or token that
		// long is a long run.
		{"key far before", "client-key-data: " + strings.Repeat("LS0tQ2VydA9", 200) + " " + host, "…[masked] " + host},
		{"megabyte line", strings.Repeat("a=b ", 300000) + host + strings.Repeat(" a=b", 300000),
			"…a=b a=b a=b a=b a=b a=b a=b a=b a=b a=b " + host + " a=b a=b a=b a=b a=b a=b a=b a=b a=b a=b…"},
		{"userinfo", "url: https://admin:hunter2@10.64.0.117:6443/x", "url: https://admin:[masked]@10.64.0.117:6443/x"},
		{"key named like the match", "apiserver-key: 10.64.0.117", "apiserver-key: 10.64.0.117"},
	} {
		i := strings.Index(tc.text, host)
		if got := excerpt(tc.text, i, len(host)); got != tc.want {
			t.Errorf("%s: excerpt = %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"token: abc123":                             "token: [masked]",
		`{"password":"hunter2","user":"bob"}`:       `{"password":"[masked]","user":"bob"}`,
		"DB_PASSWORD=hunter2 PORT=5432":             "DB_PASSWORD=[masked] PORT=5432",
		"client-key-data: LS0tLS1CRUdJTg":           "client-key-data: [masked]",
		"apiKey=xyz; secret_key = 'q w'":            "apiKey=[masked]; secret_key = '[masked] w'",
		"tls.key: abc":                              "tls.key: [masked]",
		"Authorization: Bearer eyJhbGciOi.x.y":      "Authorization: Bearer [masked]",
		"curl -H 'authorization: basic dXNlcg=='":   "curl -H 'authorization: basic [masked]'",
		"bearer abc.def":                            "bearer [masked]",
		"--token abc --v 2":                         "--token [masked] --v 2",
		"-password s3cret":                          "-password [masked]",
		"https://u:p4ss@host/?access_token=abc&x=1": "https://u:[masked]@host/?access_token=[masked]&x=1",
		"url=https://x/?token=abc":                  "url=https://x/?token=[masked]",
		"ghp_0123456789abcdefABCDEF0123456789abcd":  "[masked]",
		"sha d41d8cd98f00b204e9800998ecf8427e":      "sha [masked]",
		// Not credentials: they stay.
		"keycloak_url: https://sso.example.org":                "keycloak_url: https://sso.example.org",
		"secretName: checker-credentials":                      "secretName: checker-credentials",
		"keyFile: /etc/tls/server.key":                         "keyFile: /etc/tls/server.key",
		"monkey: banana":                                       "monkey: banana",
		"id: 123e4567-e89b-12d3-a456-426614174000":             "id: 123e4567-e89b-12d3-a456-426614174000",
		"path: /var/lib/kubelet/pods/volumes/kubernetes.io":    "path: /var/lib/kubelet/pods/volumes/kubernetes.io",
		"a very-long-lowercase-name-without-any-digits-at-all": "a very-long-lowercase-name-without-any-digits-at-all",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string]string{
		"client-key-data": "client key data", "apiKey": "api key", "DB_PASSWORD": "db password",
		"tls.key": "tls key", "secretName": "secret name", "HTTPSProxy": "httpsproxy",
	} {
		if got := strings.Join(splitWords(in), " "); got != want {
			t.Errorf("splitWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// A ConfigMap line or an env value that holds more than the address shows
// a window around it, its credentials masked, in every format.
func TestSearchContextIsAMaskedWindow(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	filler := strings.Repeat("x=1 ", 30)
	qs, err := address.ParseQueries([]string{"10.64.0.117"})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSearch(qs)
	s.Visit(snapshot.Resource{}, &corev1.ConfigMap{ObjectMeta: meta("obs", "otel"), Data: map[string]string{
		"config":     "endpoints: " + filler + "https://10.64.0.117:6443 token=" + token + " " + filler,
		"kubeconfig": "kind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://admin:" + token + "@10.64.0.117:6443\n",
	}})
	s.Visit(snapshot.Resource{}, &appsv1.Deployment{ObjectMeta: meta("obs", "agent"), Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Args: []string{"--server=https://10.64.0.117 --password " + token}}}},
	}}})
	r := s.Result()
	want := map[string]string{
		"data[kubeconfig]": "https://admin:[masked]@10.64.0.117:6443",
		"data[config]":     "…x=1 x=1 x=1 x=1 x=1 x=1 x=1 x=1 https://10.64.0.117:6443 token=[masked] x=1 x=1 x=1 x=1 x=1…",
		"spec.template.spec.containers[a].args[0]": "--server=https://10.64.0.117 --password [masked]",
	}
	if len(r.References) != len(want) {
		t.Fatalf("references = %+v", r.References)
	}
	for _, ref := range r.References {
		if ref.Kubeconfig != nil {
			ref.Context = ref.Kubeconfig.Server
		}
		if ref.Context != want[ref.Field] {
			t.Errorf("%s: context %q\nwant %q", ref.Field, ref.Context, want[ref.Field])
		}
	}
	for _, format := range Formats {
		var b bytes.Buffer
		if err := Write(&b, format, r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), token) {
			t.Errorf("%s output holds the token:\n%s", format, b.String())
		}
	}
}
