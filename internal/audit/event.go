// Package audit reads Kubernetes API server audit logs (audit.k8s.io/v1,
// JSON lines) and answers two questions operators ask during and after an
// incident: who is loading the API server (query time, latency, concurrency
// and LIST read semantics per client), and who deleted what, when, and how
// the deletion cascaded.
//
// The reader is built for logs of many gigabytes: it does not decode events
// into full structs. A hand-written scanner extracts the dozen fields the
// analysis needs and skips request and response objects without looking
// inside them; chunks of the input are parsed by one worker per core and
// every aggregate is bounded by the number of distinct keys and time buckets,
// never by the number of events.
package audit

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// Event holds the fields of one audit event that premortem uses. The byte
// slices alias the input line (or the parser's scratch buffer when a value
// had to be unescaped) and are valid only until the next Parse call.
type Event struct {
	AuditID    []byte
	Stage      []byte
	Verb       []byte
	RequestURI []byte
	Username   []byte
	UserAgent  []byte
	// SourceIPs is the raw JSON array; see IPs.
	SourceIPs []byte
	// Annotations is the raw JSON object (admission webhooks name
	// themselves there); decoded only for the few events that need it.
	Annotations []byte

	Resource    []byte
	Subresource []byte
	Namespace   []byte
	Name        []byte
	APIGroup    []byte
	// HasObjectRef is false when the event has no objectRef (non-resource
	// URLs such as /healthz or discovery).
	HasObjectRef bool

	// Code is responseStatus.code, 0 when absent.
	Code int
	// Received and StageTime are Unix nanoseconds, 0 when absent or unparsable.
	Received  int64
	StageTime int64
}

// IPs decodes the sourceIPs array.
func (e *Event) IPs() []string {
	var out []string
	b := e.SourceIPs
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		end, esc, err := scanString(b, i+1)
		if err != nil {
			break
		}
		s := b[i+1 : end]
		if esc {
			s = unescape(nil, s)
		}
		out = append(out, string(s))
		i = end
	}
	return out
}

// Parser extracts Events from lines. Its zero value is ready to use; one
// Parser per goroutine.
type Parser struct {
	scratch []byte
	// One per timestamp: a long request's two are minutes apart.
	times [2]minuteCache
	idx   index
}

// SyntaxError says where a line stopped making sense.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// Parse fills ev from one JSON-lines audit event. It validates structure only
// as far as needed to find the fields reliably: strings, nesting and
// separators are checked, number and literal syntax inside skipped values is
// not. Fields absent from the line are left zero.
func (p *Parser) Parse(line []byte, ev *Event) error {
	p.idx.build(line)
	return p.parseCut(line, ev)
}

// cut returns the length of the line data starts with, up to its first
// newline (or all of data), and indexes it for parseCut.
func (p *Parser) cut(data []byte) int { return p.idx.cut(data) }

// parseCut is Parse for the line the last cut found, indexed already.
func (p *Parser) parseCut(line []byte, ev *Event) error {
	*ev = Event{}
	p.scratch = p.scratch[:0]
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return syntaxErr(i, "not a JSON object")
	}
	var end int
	var err error
	if n := apiServerPrefix(line[i:]); n > 0 {
		end, err = p.members(line, i+n, ev, fieldsTop)
	} else {
		end, err = p.object(line, i+1, ev, fieldsTop)
	}
	if err != nil {
		return err
	}
	return trailing(line, end)
}

// The API server writes every event's first members in this order, and
// none of them is a field premortem keeps: the object's parse skips them
// and goes on from the key after them, where parsing the same bytes member
// by member would arrive, in the same state. Metadata is the usual level.
const (
	eventPrefix         = `{"kind":"Event","apiVersion":"audit.k8s.io/v1",`
	eventPrefixMetadata = eventPrefix + `"level":"Metadata",`
)

// apiServerPrefix returns the length of the known prefix b starts with, or 0.
func apiServerPrefix(b []byte) int {
	if len(b) < len(eventPrefix) || string(b[:len(eventPrefix)]) != eventPrefix {
		return 0
	}
	if len(b) >= len(eventPrefixMetadata) && string(b[len(eventPrefix):len(eventPrefixMetadata)]) == eventPrefixMetadata[len(eventPrefix):] {
		return len(eventPrefixMetadata)
	}
	return len(eventPrefix)
}

// Which object we are in decides which keys are interesting.
const (
	fieldsTop = iota
	fieldsUser
	fieldsObjectRef
	fieldsStatus
)

// object parses the members of an object whose '{' is at i-1 and returns
// the index after its '}'.
func (p *Parser) object(b []byte, i int, ev *Event, which int) (int, error) {
	i = skipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	return p.members(b, i, ev, which)
}

// members parses an object's members from the key at i (after blanks) on,
// and returns the index after the object's '}'.
func (p *Parser) members(b []byte, i int, ev *Event, which int) (int, error) {
	order := keyOrder[which]
	guess := 0
	if len(p.idx.m) == 0 {
		order = nil // without the index, every key is read (parseGeneral)
	}
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, syntaxErr(i, "expected a key")
		}
		var f field
		k := -1
		if guess < len(order) && i+32 <= len(b) {
			s := (*[32]byte)(b[i:])
			if order[guess].at(s) {
				k = guess
			} else {
				k = order.from(s, guess+1)
			}
		}
		if k >= 0 {
			// A key the API server writes next: no string to scan.
			f = order[k].field
			guess = k + 1
			i += order[k].n
			if b[i] <= ' ' {
				if i = skipWS(b, i); i >= len(b) {
					return 0, syntaxErr(i, "truncated value")
				}
			}
		} else {
			end, esc, err := p.idx.quote(b, i+1), false, error(nil)
			if end < 0 {
				end, esc, err = p.idx.end(b, i+1)
			}
			if err != nil {
				return 0, err
			}
			key := b[i+1 : end]
			if esc {
				key = unescape(nil, key)
			}
			if end+2 < len(b) && b[end+1] == ':' && b[end+2] > ' ' {
				i = end + 2 // the usual `"key":value`, no blanks
			} else {
				i = skipWS(b, end+1)
				if i >= len(b) || b[i] != ':' {
					return 0, syntaxErr(i, "expected ':'")
				}
				i = skipWS(b, i+1)
				if i >= len(b) {
					return 0, syntaxErr(i, "truncated value")
				}
			}
			f = fieldOf(which, key)
			guess = order.after(key, guess)
		}
		var dst *[]byte
		switch f {
		case fAuditID:
			dst = &ev.AuditID
		case fStage:
			dst = &ev.Stage
		case fVerb:
			dst = &ev.Verb
		case fRequestURI:
			dst = &ev.RequestURI
		case fUserAgent:
			dst = &ev.UserAgent
		case fReceived, fStageTime:
			if b[i] == '"' {
				e, esc, err := p.idx.quote(b, i+1), false, error(nil)
				if e < 0 {
					e, esc, err = p.idx.end(b, i+1)
				}
				if err != nil {
					return 0, err
				}
				v := b[i+1 : e]
				if esc {
					v = unescape(nil, v)
				}
				if f == fReceived {
					ev.Received, _ = p.times[0].parse(v)
				} else {
					ev.StageTime, _ = p.times[1].parse(v)
				}
				i = e + 1
				goto next
			}
		case fUser:
			// A repeated key replaces the earlier value, as in encoding/json.
			ev.Username = nil
			if b[i] == '{' {
				e, err := p.object(b, i+1, ev, fieldsUser)
				if err != nil {
					return 0, err
				}
				i = e
				goto next
			}
		case fObjectRef:
			ev.Resource, ev.Subresource, ev.Namespace, ev.Name, ev.APIGroup, ev.HasObjectRef = nil, nil, nil, nil, nil, false
			if b[i] == '{' {
				ev.HasObjectRef = true
				e, err := p.object(b, i+1, ev, fieldsObjectRef)
				if err != nil {
					return 0, err
				}
				i = e
				goto next
			}
		case fResponseStatus:
			ev.Code = 0
			if b[i] == '{' {
				e, err := p.object(b, i+1, ev, fieldsStatus)
				if err != nil {
					return 0, err
				}
				i = e
				goto next
			}
		case fSourceIPs, fAnnotations:
			start := i
			e, err := p.idx.skipValue(b, i)
			if err != nil {
				return 0, err
			}
			if f == fSourceIPs {
				ev.SourceIPs = b[start:e]
			} else {
				ev.Annotations = b[start:e]
			}
			i = e
			goto next
		case fUsername:
			dst = &ev.Username
		case fResource:
			dst = &ev.Resource
		case fSubresource:
			dst = &ev.Subresource
		case fNamespace:
			dst = &ev.Namespace
		case fName:
			dst = &ev.Name
		case fAPIGroup:
			dst = &ev.APIGroup
		case fCode:
			e := i
			for e < len(b) && (b[e] >= '0' && b[e] <= '9' || b[e] == '-') {
				e++
			}
			if e > i {
				if n, err := strconv.Atoi(string(b[i:e])); err == nil {
					ev.Code = n
				}
				i = e
				goto next
			}
		}
		if dst != nil {
			*dst = nil
		}
		if dst != nil && b[i] == '"' {
			e, esc, err := p.idx.quote(b, i+1), false, error(nil)
			if e < 0 {
				e, esc, err = p.idx.end(b, i+1)
			}
			if err != nil {
				return 0, err
			}
			v := b[i+1 : e]
			if esc {
				start := len(p.scratch)
				p.scratch = unescape(p.scratch, v)
				v = p.scratch[start:len(p.scratch):len(p.scratch)]
			}
			*dst = v
			i = e + 1
		} else {
			e, err := p.idx.skipValue(b, i)
			if err != nil {
				return 0, err
			}
			i = e
		}
	next:
		i = skipWS(b, i)
		if i >= len(b) {
			return 0, syntaxErr(i, "truncated object")
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, nil
		default:
			return 0, syntaxErr(i, "expected ',' or '}'")
		}
	}
}

func trailing(b []byte, i int) error {
	if i = skipWS(b, i); i != len(b) {
		return syntaxErr(i, "data after the object")
	}
	return nil
}

func skipWS(b []byte, i int) int {
	// One comparison for the usual case, a byte that is not blank.
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString finds the closing quote of a string whose content starts at i.
// esc reports whether the string holds escapes. It is small enough to be
// inlined: one call per string, which matters for the many short ones.
func scanString(b []byte, i int) (end int, esc bool, err error) {
	if end, esc = scanStringFast(b, i); end < 0 {
		err = &SyntaxError{len(b), "unterminated string"}
	}
	return
}

// scanStringSWAR is scanString where there is no assembly for it: the
// index of the closing quote, or -1 when there is none. It looks at eight
// bytes at a time for a quote or a backslash (SWAR), several times faster
// than a byte loop.
func scanStringSWAR(b []byte, i int) (end int, esc bool) {
	for {
		j := quoteOrBackslash(b, i)
		if j >= len(b) {
			return -1, esc
		}
		if b[j] == '"' {
			return j, esc
		}
		// A backslash escapes the next byte, whatever it is.
		esc = true
		i = j + 2
		if i > len(b) {
			return -1, esc
		}
	}
}

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
	swarQuote = 0x2222222222222222 // '"' in every byte
	swarSlash = 0x5c5c5c5c5c5c5c5c // '\\' in every byte
)

// quoteOrBackslash returns the index of the first '"' or '\\' at or after i,
// or len(b).
func quoteOrBackslash(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q := w ^ swarQuote
		s := w ^ swarSlash
		// A byte of q or s is zero where w held the character; the lowest
		// flagged byte is exact (higher ones may be false positives).
		t := ((q-swarOnes)&^q | (s-swarOnes)&^s) & swarHighs
		if t != 0 {
			return i + bits.TrailingZeros64(t)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return len(b)
}

// structural marks the bytes skipValue must stop at inside objects and arrays.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipValue returns the index just after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) { return noIndex.skipValue(b, i) }

// skipValue is skipValue for b, the line the index was built for.
func (x *index) skipValue(b []byte, i int) (int, error) {
	switch b[i] {
	case '"':
		e, err := x.quote(b, i+1), error(nil)
		if e < 0 {
			e, _, err = x.end(b, i+1)
		}
		if err != nil {
			return 0, err
		}
		return e + 1, nil
	case '{', '[':
		// Track the expected closers so that "{]" is rejected.
		var stackBuf [32]byte
		stack := append(stackBuf[:0], b[i])
		i++
		for i < len(b) {
			c := b[i]
			if !structural[c] {
				i++
				continue
			}
			switch c {
			case '"':
				e, err := x.quote(b, i+1), error(nil)
				if e < 0 {
					e, _, err = x.end(b, i+1)
				}
				if err != nil {
					return 0, err
				}
				i = e + 1
				continue
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				open := stack[len(stack)-1]
				if (c == '}') != (open == '{') {
					return 0, syntaxErr(i, "mismatched bracket")
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, syntaxErr(len(b), "truncated object or array")
	default:
		// Numbers, true, false, null: up to the next separator.
		s := i
		for i < len(b) {
			c := b[i]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				break
			}
			if c == '"' || c == '{' || c == '[' || c == ':' {
				return 0, syntaxErr(i, "unexpected character in literal")
			}
			i++
		}
		if i == s {
			return 0, syntaxErr(i, "empty value")
		}
		return i, nil
	}
}

// unescape appends the decoded content of a JSON string to dst. Invalid
// escapes are kept literally: the scanner is lenient about content.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			dst = append(dst, c)
			continue
		}
		i++
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n := decodeU(s[i+1:])
			if n == 0 {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += n
			if r >= 0xD800 && r < 0xDC00 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, n2 := decodeU(s[i+3:]); n2 > 0 && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 2 + n2
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, '\\', s[i])
		}
	}
	return dst
}

func decodeU(s []byte) (rune, int) {
	if len(s) < 4 {
		return 0, 0
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 4
}
