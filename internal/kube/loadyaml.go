package kube

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/premortem/premortem/internal/sizelimit"
	"sigs.k8s.io/yaml"
)

// yamlStream reads multi-document YAML, one document at a time, converting
// each to JSON. A document past the maximum is skipped, never held whole;
// a NUL byte (binary data, which YAML forbids) ends the file.
func (l *loader) yamlStream(br *bufio.Reader, lead leading) {
	maxDoc := int(l.limits.Document)
	doc, startLine, line := 0, lead.lines+1, lead.lines
	// bytes read; where the document starts
	offset, docStart := lead.bytes, lead.bytes-int64(len(lead.tail))
	// The first line's indentation is part of the document.
	buf := append([]byte(nil), lead.tail...)
	skipping := false // the current document is past the maximum
	flush := func() {
		if skipping {
			skipping, buf = false, buf[:0]
			return
		}
		if len(bytes.TrimSpace(buf)) == 0 {
			buf = buf[:0]
			return
		}
		doc++
		where := fmt.Sprintf("document %d (line %d)", doc, startLine)
		js, err := yaml.YAMLToJSON(buf)
		buf = buf[:0]
		if err != nil {
			l.problem(where, nil, err)
			return
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			return
		}
		l.object(js, where)
	}
	// UTF-16 and UTF-32 (PowerShell's redirection writes UTF-16) hold NUL
	// bytes; the YAML decoder reads them by their byte order mark.
	bom, _ := br.Peek(4)
	wide := bytes.HasPrefix(bom, []byte{0xff, 0xfe}) || bytes.HasPrefix(bom, []byte{0xfe, 0xff}) || bytes.HasPrefix(bom, []byte{0, 0, 0xfe, 0xff})
	lineStart, dropLine := len(lead.tail) == 0, false
	if !lineStart {
		line++
	}
	for {
		// A line longer than br's buffer comes in pieces: never held
		// whole unless it fits in a document.
		frag, err := br.ReadSlice('\n')
		if i := bytes.IndexByte(frag, 0); i >= 0 && !wide {
			l.problem(fmt.Sprintf("byte %d", offset+int64(i)), nil,
				fmt.Errorf("a NUL byte: binary data, not YAML or JSON; kept the %d objects read before it, not the rest of the file", l.objects))
			return
		}
		offset += int64(len(frag))
		if len(frag) > 0 {
			complete := frag[len(frag)-1] == '\n'
			if lineStart {
				line++
			}
			switch {
			case lineStart && isDocumentSeparator(frag):
				flush()
				startLine, docStart, dropLine = line+1, offset, !complete
			case dropLine || skipping:
				// The rest of a separator line, or of a document too large.
			case len(buf)+len(frag) > maxDoc:
				doc++
				l.problem(fmt.Sprintf("document %d (line %d) at byte %d", doc, startLine, docStart), nil,
					fmt.Errorf("%w; skipped it", &sizelimit.Error{Limit: "document", Max: l.limits.Document}))
				skipping, buf = true, buf[:0]
			default:
				buf = appendBounded(buf, frag, maxDoc)
			}
			if complete {
				dropLine = false
			}
			lineStart = complete
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			flush()
			return
		}
		if err != nil {
			var se *sizelimit.Error
			if errors.As(err, &se) {
				l.readError(offset, err)
				return
			}
			// A truncated .gz: what was read before is kept; the document
			// cut short is not.
			l.problem(fmt.Sprintf("document %d (line %d)", doc+1, startLine), nil,
				fmt.Errorf("file ends early at line %d (truncated?): %v; kept the %d objects read before it", line, err, l.objects))
			return
		}
	}
}

// isDocumentSeparator says whether a line (or its first piece) is "---",
// alone or followed by a space.
func isDocumentSeparator(s []byte) bool {
	t := bytes.TrimRight(s, "\r\n")
	return string(t) == "---" || bytes.HasPrefix(t, []byte("--- "))
}

// appendBounded appends b to buf, growing it at most to limit: append's
// doubling would otherwise reserve up to twice the maximum.
func appendBounded(buf, b []byte, limit int) []byte {
	if need := len(buf) + len(b); need > cap(buf) {
		grown := make([]byte, len(buf), min(limit, max(2*cap(buf), need)))
		copy(grown, buf)
		buf = grown
	}
	return append(buf, b...)
}
