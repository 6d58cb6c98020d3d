package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonStream reads concatenated JSON values: objects, lists, arrays.
func (l *loader) jsonStream(r io.Reader) {
	dec := json.NewDecoder(r)
	for {
		tok, err := dec.Token()
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

// jsonValueAfterOpen reads one top-level object or array whose opening
// delimiter was just consumed. Only "items" arrays are streamed; everything
// else is small.
func (l *loader) jsonValueAfterOpen(dec *json.Decoder) error {
	// Arrays of objects (not kubectl's, but cheap to accept).
	if !dec.More() {
		_, err := dec.Token()
		return err
	}
	fields := map[string]json.RawMessage{}
	var itemsDone bool
	var pending []json.RawMessage // items seen before the list's kind
	isArray := false
	for dec.More() {
		tok, err := dec.Token()
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
			if err := decodeValue(dec, &raw); err != nil {
				return err
			}
			fields[key] = raw
			continue
		}
		if t, err := dec.Token(); err != nil {
			return err
		} else if d, ok := t.(json.Delim); !ok || d != '[' {
			if t == nil { // "items": null
				itemsDone = true
				continue
			}
			return fmt.Errorf(`"items" is not an array`)
		}
		idx := 0
		for dec.More() {
			var raw json.RawMessage
			if err := decodeValue(dec, &raw); err != nil {
				return err
			}
			if _, known := fields["kind"]; known {
				l.item(raw, idx, fields)
			} else {
				pending = append(pending, raw)
			}
			idx++
		}
		if _, err := dec.Token(); err != nil { // ']'
			return err
		}
		itemsDone = true
	}
	if _, err := dec.Token(); err != nil { // '}' or ']'
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
