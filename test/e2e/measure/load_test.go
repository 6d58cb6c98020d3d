package measure_test

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The load `premortem measure` measures: this test binary, run again with
// loadEnv set, creates loadConfigMaps ConfigMaps in loadNamespace and lists
// every pod loadPodLists times, as one client (user agent loadAgent).
const (
	loadEnv        = "PREMORTEM_MEASURE_LOAD"
	loadNamespace  = "measure-load"
	loadConfigMaps = 300
	loadPodLists   = 50
	loadAgent      = "measure-e2e-load"
)

func load() int {
	if err := runLoad(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		return 1
	}
	return 0
}

func runLoad() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	cfg.UserAgent, cfg.QPS, cfg.Burst = loadAgent, 500, 500
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for i := range loadConfigMaps {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("load-%03d", i)}, Data: map[string]string{"k": "v"}}
		if _, err := client.CoreV1().ConfigMaps(loadNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	// A naive client's LIST of every pod: no limit, no resourceVersion.
	for range loadPodLists {
		if _, err := client.CoreV1().RESTClient().Get().AbsPath("/api/v1/pods").DoRaw(ctx); err != nil {
			return err
		}
	}
	return nil
}
