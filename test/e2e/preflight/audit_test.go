package preflight_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"
)

type auditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	ObjectRef  *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"objectRef"`
}

// auditOffset is the audit log's current size: events after it belong to
// what the test does next.
func auditOffset(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(cluster.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// auditSince returns the completed requests logged after offset whose user
// agent starts with agent. The log may lag the response by a moment.
func auditSince(t *testing.T, offset int64, agent string) []auditEvent {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	data, err := os.ReadFile(cluster.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	var events []auditEvent
	sc := bufio.NewScanner(bytes.NewReader(data[offset:]))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		if ev.Stage == "ResponseComplete" && len(ev.UserAgent) >= len(agent) && ev.UserAgent[:len(agent)] == agent {
			events = append(events, ev)
		}
	}
	return events
}
