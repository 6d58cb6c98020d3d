package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/premortem/premortem/internal/sizelimit"
)

// jsonStream reads concatenated JSON values: objects, lists, arrays.
func (l *loader) jsonStream(r io.Reader) {
	l.bound = &boundedReader{r: r}
	l.itemIdx = -1
	dec := json.NewDecoder(l.bound)
	for {
		tok, err := l.token(dec)
		if err == io.EOF {
			return
		} else if err != nil {
			l.readError(dec.InputOffset(), err)
			return
		}
		if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
			l.problem(fmt.Sprintf("line %d", lineAt(l.path, dec.InputOffset())), nil, fmt.Errorf("expected a JSON object or array, found %v", tok))
			return
		}
		// The token just read opened a value; jsonValue reads the rest.
		if err := l.jsonValueAfterOpen(dec); err != nil {
			l.readError(dec.InputOffset(), err)
			return
		}
	}
}

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

// bound lets the decoder read one item's maximum past what it consumed.
func (l *loader) setBound(dec *json.Decoder) {
	l.bound.mark = dec.InputOffset()
	l.bound.limit = l.bound.mark + int64(l.limits.Item)
}

// pastMark turns the decoder's failure to read past the bound into the
// error that names the item and where it starts.
func (l *loader) pastMark(dec *json.Decoder, err error) error {
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
	if b, ok := dec.Buffered().(*bytes.Reader); ok {
		for n := dec.InputOffset(); ; n++ {
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
	return &tooLarge{what: what, offset: start, err: &sizelimit.Error{Limit: "item", Max: l.limits.Item}}
}

func (l *loader) token(dec *json.Decoder) (json.Token, error) {
	l.setBound(dec)
	t, err := dec.Token()
	return t, l.pastMark(dec, err)
}

func (l *loader) more(dec *json.Decoder) bool {
	l.setBound(dec)
	return dec.More()
}

func (l *loader) decodeValue(dec *json.Decoder, raw *json.RawMessage) error {
	l.setBound(dec)
	return l.pastMark(dec, decodeValue(dec, raw))
}

// jsonValueAfterOpen reads one top-level object or array whose opening
// delimiter was just consumed. Only "items" arrays are streamed; everything
// else is small.
func (l *loader) jsonValueAfterOpen(dec *json.Decoder) error {
	// Arrays of objects (not kubectl's, but cheap to accept).
	if !l.more(dec) {
		_, err := l.token(dec)
		return err
	}
	fields := map[string]json.RawMessage{}
	var itemsDone bool
	var pending []json.RawMessage // items seen before the list's kind
	isArray := false
	start := dec.InputOffset() - 1
	var kept int64 // bytes of fields and pending items, held until the end
	keep := func(raw json.RawMessage) error {
		kept += int64(len(raw))
		if kept > int64(l.limits.Document) {
			return &tooLarge{what: "the object", offset: start, err: &sizelimit.Error{Limit: "document", Max: l.limits.Document}}
		}
		return nil
	}
	for l.more(dec) {
		tok, err := l.token(dec)
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
			if err := l.jsonValueAfterOpen(dec); err != nil {
				return err
			}
			continue
		}
		if key != "items" {
			var raw json.RawMessage
			if err := l.decodeValue(dec, &raw); err != nil {
				return err
			}
			if err := keep(raw); err != nil {
				return err
			}
			fields[key] = raw
			continue
		}
		if t, err := l.token(dec); err != nil {
			return err
		} else if d, ok := t.(json.Delim); !ok || d != '[' {
			if t == nil { // "items": null
				itemsDone = true
				continue
			}
			return fmt.Errorf(`"items" is not an array`)
		}
		idx := 0
		for l.more(dec) {
			var raw json.RawMessage
			l.itemIdx = idx
			err := l.decodeValue(dec, &raw)
			l.itemIdx = -1
			if err != nil {
				return err
			}
			if _, known := fields["kind"]; known {
				l.item(raw, idx, fields)
			} else {
				if err := keep(raw); err != nil {
					return err
				}
				pending = append(pending, raw)
			}
			idx++
		}
		if _, err := l.token(dec); err != nil { // ']'
			return err
		}
		itemsDone = true
	}
	if _, err := l.token(dec); err != nil { // '}' or ']'
		return err
	}
	if isArray {
		return nil
	}
	for i, raw := range pending {
		l.item(raw, i, fields)
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

// offsetError is an error at an absolute byte offset of the input.
type offsetError struct {
	offset int64
	err    error
}

func (e *offsetError) Error() string { return e.err.Error() }
func (e *offsetError) Unwrap() error { return e.err }
