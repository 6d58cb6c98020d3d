package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/premortem/premortem/internal/snapshot"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
)

// A server that answers 429 with Retry-After is retried after the delay it
// asks for, with the client configuration premortem uses, and the page read
// is the answer that followed.
func TestTooManyRequestsIsRetried(t *testing.T) {
	var calls atomic.Int32
	var first, second time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`))
		default:
			second = time.Now()
			if r.URL.Query().Get("resourceVersion") != FirstPageResourceVersion {
				t.Errorf("retried request lost its options: %s", r.URL)
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{},
				"items":[{"metadata":{"name":"s1","namespace":"ns","managedFields":[{"manager":"x"}]}}]}`))
		}
	}))
	defer srv.Close()
	cfg := Configure(&rest.Config{Host: srv.URL}, ClientOptions{UserAgent: "premortem/test"})
	md, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []page
	n, _, err := (&Reader{}).listKind(context.Background(), &clients{metadata: md}, specFor(snapshot.Secrets), "",
		func(p page, _ bool) { got = append(got, p) }, func() {})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || n != 1 {
		t.Fatalf("server saw %d requests, reader counted %d; want 2 and 1", calls.Load(), n)
	}
	if wait := second.Sub(first); wait < 900*time.Millisecond {
		t.Errorf("retried after %s, want the 1s Retry-After", wait)
	}
	items := got[0].items.([]metav1.PartialObjectMetadata)
	if len(items) != 1 || items[0].Name != "s1" || items[0].ManagedFields != nil {
		t.Errorf("items = %+v", items)
	}
}
