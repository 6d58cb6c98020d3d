package preflight

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// captureSecrets records the Secret Helm's driver creates, so tests decode
// records Helm itself encoded.
type captureSecrets struct {
	corev1client.SecretInterface
	got *corev1.Secret
}

func (c *captureSecrets) Create(_ context.Context, s *corev1.Secret, _ metav1.CreateOptions) (*corev1.Secret, error) {
	c.got = s.DeepCopy()
	return s, nil
}

func testRelease(name string, version int, status release.Status) *release.Release {
	return &release.Release{
		Name: name, Namespace: "shop", Version: version,
		Info:     &release.Info{Status: status},
		Chart:    &chart.Chart{Metadata: &chart.Metadata{Name: "shop", Version: "1.2.0"}},
		Manifest: "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop-data\n",
	}
}

// helmSecret is the Secret Helm's own driver writes for rel.
func helmSecret(t testing.TB, rel *release.Release) *corev1.Secret {
	t.Helper()
	c := &captureSecrets{}
	key := "sh.helm.release.v1." + rel.Name + ".v" + string(rune('0'+rel.Version))
	if err := driver.NewSecrets(c).Create(key, rel); err != nil {
		t.Fatal(err)
	}
	c.got.Namespace = rel.Namespace
	return c.got
}

func gzipBase64(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func TestDecodeSecret(t *testing.T) {
	good := helmSecret(t, testRelease("shop", 3, release.StatusDeployed))
	with := func(f func(s *corev1.Secret)) *corev1.Secret {
		s := good.DeepCopy()
		f(s)
		return s
	}
	tests := []struct {
		name    string
		secret  *corev1.Secret
		wantErr string
	}{
		{name: "helm record", secret: good},
		{name: "uncompressed legacy record", secret: with(func(s *corev1.Secret) {
			s.Data["release"] = []byte(base64.StdEncoding.EncodeToString([]byte(`{"name":"shop","version":3,"info":{"status":"deployed"},"chart":{"metadata":{"name":"shop"}}}`)))
		})},
		{name: "not labelled", secret: with(func(s *corev1.Secret) { delete(s.Labels, "owner") }), wantErr: "not labelled owner=helm"},
		{name: "wrong type", secret: with(func(s *corev1.Secret) { s.Type = corev1.SecretTypeOpaque }), wantErr: `type "Opaque"`},
		{name: "no data", secret: with(func(s *corev1.Secret) { delete(s.Data, "release") }), wantErr: "no release data"},
		{name: "not base64", secret: with(func(s *corev1.Secret) { s.Data["release"] = []byte("%%%") }), wantErr: "not base64"},
		{name: "truncated gzip", secret: with(func(s *corev1.Secret) {
			raw, _ := base64.StdEncoding.DecodeString(string(s.Data["release"]))
			s.Data["release"] = []byte(base64.StdEncoding.EncodeToString(raw[:len(raw)/2]))
		}), wantErr: "unexpected EOF"},
		{name: "json null", secret: with(func(s *corev1.Secret) { s.Data["release"] = gzipBase64(t, []byte("null")) }), wantErr: "no release name"},
		{name: "json not a release", secret: with(func(s *corev1.Secret) { s.Data["release"] = gzipBase64(t, []byte(`{"name":"x"}`)) }), wantErr: "no release info"},
		{name: "json garbage", secret: with(func(s *corev1.Secret) { s.Data["release"] = gzipBase64(t, []byte(`{"name":`)) }), wantErr: "unexpected end of JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, err := DecodeSecret(tt.secret, DefaultMaxReleaseBytes)
			if tt.wantErr != "" {
				var nr *NotAReleaseError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &nr) {
					t.Fatalf("err = %v, want a NotAReleaseError containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), string(good.Data["release"][:20])) {
					t.Errorf("error leaks release data: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rel.Name != "shop" || rel.Version != 3 || rel.Chart.Metadata.Name != "shop" {
				t.Errorf("decoded %s v%d chart %s", rel.Name, rel.Version, rel.Chart.Metadata.Name)
			}
		})
	}
}

func TestDecodeConfigMap(t *testing.T) {
	s := helmSecret(t, testRelease("shop", 2, release.StatusDeployed))
	cm := &corev1.ConfigMap{ObjectMeta: s.ObjectMeta, Data: map[string]string{"release": string(s.Data["release"])}}
	rel, err := DecodeConfigMap(cm, DefaultMaxReleaseBytes)
	if err != nil || rel.Version != 2 {
		t.Fatalf("rel=%v err=%v", rel, err)
	}
	cm.Data["release"] = "AAAA"
	if _, err := DecodeConfigMap(cm, DefaultMaxReleaseBytes); err == nil {
		t.Fatal("corrupt ConfigMap record decoded")
	}
}

// bomb is a release payload that decompresses to size bytes of zeros.
func bomb(t testing.TB, size int) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for written := 0; written < size; written += len(zeros) {
		w.Write(zeros)
	}
	w.Close()
	return []byte(base64.StdEncoding.EncodeToString(buf.Bytes()))
}

// TestGzipBombIsBounded decodes a record that inflates to 256 MiB with a
// 4 MiB limit: it must fail with ErrReleaseTooLarge having allocated about
// the compressed size, not the inflated one.
func TestGzipBombIsBounded(t *testing.T) {
	payload := bomb(t, 256<<20)
	s := helmSecret(t, testRelease("shop", 1, release.StatusDeployed))
	s.Data["release"] = payload
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeSecret(s, 4<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrReleaseTooLarge) {
		t.Fatalf("err = %v, want ErrReleaseTooLarge", err)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("payload %d bytes of base64 inflating to 256 MiB: rejected after allocating %d KiB", len(payload), allocated>>10)
	if allocated > 16<<20 {
		t.Errorf("allocated %d MiB rejecting the bomb; the check must stream", allocated>>20)
	}
	if err := CheckPayload(payload, int64(len(payload)-1)); !errors.Is(err, ErrReleaseTooLarge) {
		t.Errorf("oversized base64: err = %v, want ErrReleaseTooLarge", err)
	}
}

func TestPickCurrent(t *testing.T) {
	rec := func(v int, s release.Status) record { return record{name: "r", release: "shop", version: v, status: s} }
	tests := []struct {
		name    string
		recs    []record
		want    int
		wantErr string
	}{
		{name: "last deployed", recs: []record{rec(1, release.StatusSuperseded), rec(2, release.StatusDeployed)}, want: 2},
		{name: "last failed, earlier deployed", recs: []record{rec(3, release.StatusFailed), rec(2, release.StatusDeployed), rec(1, release.StatusSuperseded)}, want: 2},
		{name: "only failed", recs: []record{rec(1, release.StatusFailed)}, want: 1},
		{name: "pending", recs: []record{rec(1, release.StatusDeployed), rec(2, release.StatusPendingUpgrade)}, wantErr: "another operation is in progress"},
		{name: "uninstalled", recs: []record{rec(1, release.StatusUninstalled)}, wantErr: "no deployed revision"},
		{name: "versions sort numerically", recs: []record{rec(10, release.StatusDeployed), rec(9, release.StatusSuperseded)}, want: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickCurrent(tt.recs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got.version != tt.want {
				t.Fatalf("got v%d err %v, want v%d", got.version, err, tt.want)
			}
		})
	}
}

// FuzzDecodeSecret feeds corrupt release payloads (raw, base64, gzip then
// base64) to the decoder: it must return an error or a release with a
// name, never panic, and never inflate past the limit.
func FuzzDecodeSecret(f *testing.F) {
	good := helmSecret(f, testRelease("shop", 3, release.StatusDeployed))
	f.Add(uint8(0), good.Data["release"])
	f.Add(uint8(1), []byte(`{"name":"shop","info":{"status":"deployed"},"chart":{"metadata":{"name":"c"}}}`))
	f.Add(uint8(2), []byte(`{"name":"shop","info":null,"chart":{"metadata":null}}`))
	f.Add(uint8(2), []byte("null"))
	f.Add(uint8(2), []byte(`{"chart":{"templates":[null],"files":[{"name":1}]}}`))
	f.Add(uint8(0), bomb(f, 8<<20))
	f.Add(uint8(0), []byte("H4sI"))
	f.Fuzz(func(t *testing.T, mode uint8, data []byte) {
		payload := data
		switch mode % 3 {
		case 1:
			payload = []byte(base64.StdEncoding.EncodeToString(data))
		case 2:
			payload = gzipBase64(t, data)
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.shop.v1", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "shop"}},
			Type:       "helm.sh/release.v1",
			Data:       map[string][]byte{"release": payload},
		}
		rel, err := DecodeSecret(s, 1<<20)
		if err == nil && (rel == nil || rel.Name == "" || rel.Info == nil || rel.Chart == nil) {
			t.Fatalf("decoded an incomplete release without error: %+v", rel)
		}
	})
}
