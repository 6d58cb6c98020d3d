package audit

import (
	"bytes"
	"strings"
	"testing"

	"github.com/premortem/premortem/internal/output/outputtest"
)

// A client chooses its user agent and an object's name: neither may forge
// a row of the text report or send an escape sequence to the terminal.
func TestWriteTextEscapesLogData(t *testing.T) {
	evil := "kubectl\nforged-user  999  99.9s\x1b[2J\x1b]0;owned\x07"
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"a1","stage":"ResponseComplete",` +
		`"requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"` + jsonEscape(evil) + `"},` +
		`"sourceIPs":["10.0.0.1"],"userAgent":"` + jsonEscape(evil) + `","objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},` +
		`"responseStatus":{"code":200},"requestReceivedTimestamp":"2024-05-28T12:00:00.000000Z","stageTimestamp":"2024-05-28T12:00:01.000000Z"}` + "\n"
	inputs, _, err := Inputs([]string{"-"}, strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze(t.Context(), inputs, Options{Top: 5})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	outputtest.CheckEscaped(t, "report", out, "forged-user")
}

func jsonEscape(s string) string {
	r := strings.NewReplacer("\n", `\n`, "\x1b", `\u001b`, "\x07", `\u0007`, `"`, `\"`)
	return r.Replace(s)
}
