package kube

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// yamlStream reads multi-document YAML, one document at a time, converting
// each to JSON.
func (l *loader) yamlStream(br *bufio.Reader) {
	doc, startLine, line := 0, 1, 0
	var buf bytes.Buffer
	flush := func() {
		if len(bytes.TrimSpace(buf.Bytes())) == 0 {
			buf.Reset()
			return
		}
		doc++
		where := fmt.Sprintf("document %d (line %d)", doc, startLine)
		js, err := yaml.YAMLToJSON(buf.Bytes())
		buf.Reset()
		if err != nil {
			l.problem(where, nil, err)
			return
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			return
		}
		l.object(js, where)
	}
	for {
		s, err := br.ReadString('\n')
		if len(s) > 0 {
			line++
			if t := strings.TrimRight(s, "\r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
				flush()
				startLine = line + 1
			} else {
				buf.WriteString(s)
			}
		}
		if err == io.EOF {
			flush()
			return
		}
		if err != nil {
			// A truncated .gz: what was read before is kept; the document
			// cut short is not.
			l.problem(fmt.Sprintf("document %d (line %d)", doc+1, startLine), nil,
				fmt.Errorf("file ends early at line %d (truncated?): %v; kept the %d objects read before it", line, err, l.objects))
			return
		}
	}
}
