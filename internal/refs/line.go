package refs

import "strings"

// line returns the line of text around offset, trimmed and cut to limit
// bytes, for showing where a (non-secret) match is.
func line(text string, offset, length, limit int) string {
	start := strings.LastIndexByte(text[:offset], '\n') + 1
	end := len(text)
	if i := strings.IndexByte(text[offset:], '\n'); i >= 0 {
		end = offset + i
	}
	l := text[start:end]
	if len(l) > limit {
		off := offset - start
		from := max(0, off+length/2-limit/2)
		to := min(len(l), from+limit)
		from = max(0, to-limit)
		cut := l[from:to]
		if from > 0 {
			cut = "…" + cut
		}
		if to < len(l) {
			cut += "…"
		}
		l = cut
	}
	return strings.TrimSpace(l)
}
