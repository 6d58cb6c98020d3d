package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/premortem/premortem/internal/sizelimit"
)

// jsonStream reads concatenated JSON values: objects, lists, arrays. r
// starts at byte start of the file.
func (l *loader) jsonStream(r io.Reader, start int64) {
	l.src = &pushback{r: r, off: start}
	l.bound = &boundedReader{r: l.src}
	l.dec = json.NewDecoder(l.bound)
	l.base, l.itemIdx, l.inArray = start, -1, false
	for {
		tok, err := l.token()
		if err == io.EOF {
			return
		} else if err != nil {
			l.readError(l.offset(), err)
			return
		}
		if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
			l.problem(fmt.Sprintf("line %d", lineAt(l.path, l.offset())), nil, fmt.Errorf("expected a JSON object or array, found %v", tok))
			return
		}
		// The token just read opened a value; jsonValue reads the rest.
		if err := l.jsonValueAfterOpen(); err != nil {
			l.readError(l.offset(), err)
			return
		}
	}
}

// offset is the decoder's position in the file (decompressed).
func (l *loader) offset() int64 { return l.base + l.dec.InputOffset() }

// boundedReader feeds the JSON decoder, which holds the value it reads
// whole (and any whitespace before it), at most up to limit.
type boundedReader struct {
	r     io.Reader
	read  int64 // bytes handed out
	limit int64
	mark  int64 // where the value being read starts
}

func (b *boundedReader) Read(p []byte) (int, error) {
	room := b.limit - b.read
	if room <= 0 {
		return 0, errPastMark
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := b.r.Read(p)
	b.read += int64(n)
	return n, err
}

// setBound lets the decoder read one item's maximum past what it consumed.
func (l *loader) setBound() {
	l.bound.mark = l.dec.InputOffset()
	l.bound.limit = l.bound.mark + int64(l.limits.Item)
}

// pastMark turns the decoder's failure to read past the bound into the
// error that names the item and where it starts.
func (l *loader) pastMark(err error) error {
	if !errors.Is(err, errPastMark) {
		return err
	}
	what := ""
	if l.itemIdx >= 0 {
		what = fmt.Sprintf("item %d", l.itemIdx)
	}
	// The value starts after the separators the decoder still holds; when
	// it holds nothing else, the whitespace itself is too long.
	start := l.bound.mark
	if b, ok := l.dec.Buffered().(*bytes.Reader); ok {
		for n := l.dec.InputOffset(); ; n++ {
			c, err := b.ReadByte()
			if err != nil {
				break
			}
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',' && c != ':' {
				start = n
				break
			}
		}
	}
	return &tooLarge{what: what, offset: l.base + start, err: &sizelimit.Error{Limit: "item", Max: l.limits.Item}}
}

func (l *loader) token() (json.Token, error) {
	l.setBound()
	t, err := l.dec.Token()
	return t, l.pastMark(err)
}

func (l *loader) more() bool {
	l.setBound()
	return l.dec.More()
}

func (l *loader) decodeValue(raw *json.RawMessage) error {
	l.setBound()
	return l.pastMark(decodeValue(l.dec, raw))
}

// jsonValueAfterOpen reads one top-level object or array whose opening
// delimiter was just consumed. Only "items" arrays are streamed; everything
// else is small.
func (l *loader) jsonValueAfterOpen() error {
	// Arrays of objects (not kubectl's, but cheap to accept).
	if !l.more() {
		_, err := l.token()
		return err
	}
	fields := map[string]json.RawMessage{}
	var itemsDone bool
	var pending []json.RawMessage // items seen before the list's kind
	var pendingIdx []int
	isArray := false
	start := l.offset() - 1
	var kept int64 // bytes of fields and pending items, held until the end
	keep := func(raw json.RawMessage) error {
		kept += int64(len(raw))
		if kept > int64(l.limits.Document) {
			return &tooLarge{what: "the object", offset: start, err: &sizelimit.Error{Limit: "document", Max: l.limits.Document}}
		}
		return nil
	}
	for l.more() {
		tok, err := l.token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			// An element of a top-level array: not a key.
			isArray = true
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return fmt.Errorf("expected an object in the top-level array, found %v", tok)
			}
			l.inArray = true
			err := l.jsonValueAfterOpen()
			l.inArray = false
			if err != nil {
				return err
			}
			continue
		}
		if key != "items" {
			var raw json.RawMessage
			if err := l.decodeValue(&raw); err != nil {
				return err
			}
			if err := keep(raw); err != nil {
				return err
			}
			fields[key] = raw
			continue
		}
		if t, err := l.token(); err != nil {
			return err
		} else if d, ok := t.(json.Delim); !ok || d != '[' {
			if t == nil { // "items": null
				itemsDone = true
				continue
			}
			return fmt.Errorf(`"items" is not an array`)
		}
		for idx := 0; ; {
			var raw json.RawMessage
			var err error
			more := l.more()
			if more {
				l.itemIdx = idx
				err = l.decodeValue(&raw)
				l.itemIdx = -1
			} else {
				_, err = l.token() // ']'
			}
			var tl *tooLarge
			if errors.As(err, &tl) && tl.err.Limit == "item" {
				// Skip the item, not the rest of the file.
				found, serr := l.skipItem()
				if serr != nil {
					return err
				}
				if found {
					l.problem(tl.where(), nil, fmt.Errorf("%w; skipped it", tl.err))
					idx++
				}
				continue
			}
			if err != nil {
				return err
			}
			if !more {
				break
			}
			if _, known := fields["kind"]; known {
				l.item(raw, idx, fields)
			} else {
				if err := keep(raw); err != nil {
					return err
				}
				pending, pendingIdx = append(pending, raw), append(pendingIdx, idx)
			}
			idx++
		}
		itemsDone = true
	}
	if _, err := l.token(); err != nil { // '}' or ']'
		return err
	}
	if isArray {
		return nil
	}
	for i, raw := range pending {
		l.item(raw, pendingIdx[i], fields)
	}
	if itemsDone {
		return nil
	}
	obj, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	l.object(obj, "")
	return nil
}

// skipItem reads past the list item the decoder could not hold, without
// holding it, and goes on with a decoder placed after it. The decoder's
// state cannot be set, so the new one first reads the openings the old one
// was inside of (`{"items":[`, within `[` for an array of lists), then the
// rest of the file. found says an item was skipped, not just whitespace.
func (l *loader) skipItem() (found bool, err error) {
	// What the old decoder read and did not consume, without a copy: the
	// decoder is dropped.
	var rest sliceWriter
	l.dec.Buffered().(io.WriterTo).WriteTo(&rest)
	if len(bytes.TrimLeft(rest, " \t\r\n,")) == 0 {
		// Only whitespace was past the bound: drop it and let a new
		// decoder try the item itself.
		c, err := l.src.nextNonSpace()
		if err == nil && c == ',' && bytes.IndexByte(rest, ',') < 0 {
			c, err = l.src.nextNonSpace()
		}
		if err != nil {
			return false, err
		}
		l.src.unread([]byte{c})
	} else {
		l.src.unread(rest)
		if found, err = skipValue(l.src); err != nil {
			return found, err
		}
	}
	// The separator after the item goes with it.
	if c, err := l.src.nextNonSpace(); err == nil && c != ',' {
		l.src.unread([]byte{c})
	}
	prefix := `{"items":[`
	if l.inArray {
		prefix = "[" + prefix
	}
	l.base = l.src.off - int64(len(prefix))
	l.bound = &boundedReader{r: io.MultiReader(strings.NewReader(prefix), l.src)}
	l.dec = json.NewDecoder(l.bound)
	for range strings.Count(prefix, "[") + 2 { // [ { "items" [
		if _, err := l.token(); err != nil {
			return found, err
		}
	}
	return found, nil
}

// skipValue reads past one JSON value and the whitespace and comma before
// it, holding at most a buffer of it. It stops before a closing bracket
// met first (found is then false: the list ends) and after the value.
func skipValue(src *pushback) (found bool, err error) {
	buf := make([]byte, 64<<10)
	depth := 0
	inString, escaped, scalar := false, false, false
	for {
		n, err := src.Read(buf)
		for i, c := range buf[:n] {
			switch {
			case inString:
				if escaped {
					escaped = false
				} else if c == '\\' {
					escaped = true
				} else if c == '"' {
					inString = false
					if depth == 0 {
						src.unread(buf[i+1 : n])
						return true, nil
					}
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || (c == ',' && depth == 0) || c == '}' || c == ']':
				if scalar {
					src.unread(buf[i:n])
					return true, nil
				}
				if c == '}' || c == ']' {
					if depth == 0 {
						src.unread(buf[i:n])
						return false, nil
					}
					if depth--; depth == 0 {
						src.unread(buf[i+1 : n])
						return true, nil
					}
				}
			case c == '"':
				inString = true
			case c == '{' || c == '[':
				depth++
			case depth == 0:
				scalar = true // a number, true, false or null
			}
		}
		if err == io.EOF {
			if scalar {
				return true, nil
			}
			return depth > 0 || inString, io.ErrUnexpectedEOF
		}
		if err != nil {
			return true, err
		}
	}
}

// pushback is a reader bytes can be put back into, that knows its offset.
type pushback struct {
	r    io.Reader
	back []byte
	off  int64 // of the next byte Read returns
}

func (p *pushback) Read(b []byte) (int, error) {
	if len(p.back) > 0 {
		n := copy(b, p.back)
		p.back = p.back[n:]
		p.off += int64(n)
		return n, nil
	}
	n, err := p.r.Read(b)
	p.off += int64(n)
	return n, err
}

// unread puts b back in front of what is left to read; p may keep b.
func (p *pushback) unread(b []byte) {
	if len(b) == 0 {
		return
	}
	if len(p.back) == 0 {
		p.back = b
	} else {
		p.back = append(append(make([]byte, 0, len(b)+len(p.back)), b...), p.back...)
	}
	p.off -= int64(len(b))
}

// sliceWriter keeps what is written to it, without a copy.
type sliceWriter []byte

func (w *sliceWriter) Write(b []byte) (int, error) {
	*w = b
	return len(b), nil
}

// nextNonSpace reads past whitespace and returns the next byte.
func (p *pushback) nextNonSpace() (byte, error) {
	var b [1]byte
	for {
		if _, err := io.ReadFull(p, b[:]); err != nil {
			return 0, err
		}
		if c := b[0]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
	}
}

// decodeValue decodes the next value. A syntax error is placed at the start
// of the value that contains it: the decoder's own offsets leave out the
// bytes read as tokens, so they cannot name a line.
func decodeValue(dec *json.Decoder, raw *json.RawMessage) error {
	start := dec.InputOffset()
	if b, ok := dec.Buffered().(*bytes.Reader); ok {
		for {
			c, err := b.ReadByte()
			if err != nil || (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != ',') {
				break
			}
			start++
		}
	}
	err := dec.Decode(raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &offsetError{offset: start, err: err}
	}
	return err
}

// offsetError is an error at a byte offset of the decoder's input.
type offsetError struct {
	offset int64
	err    error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }
