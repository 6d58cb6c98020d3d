package audit

import "encoding/binary"

// field is what the parser does with a member's value.
type field uint8

const (
	fSkip field = iota
	fAuditID
	fStage
	fRequestURI
	fVerb
	fUser
	fSourceIPs
	fUserAgent
	fObjectRef
	fResponseStatus
	fReceived
	fStageTime
	fAnnotations
	fUsername
	fResource
	fSubresource
	fNamespace
	fName
	fAPIGroup
	fCode
)

// fieldOf says what a key means in an object of the given kind.
func fieldOf(which int, key []byte) field {
	switch which {
	case fieldsTop:
		switch string(key) {
		case "auditID":
			return fAuditID
		case "stage":
			return fStage
		case "verb":
			return fVerb
		case "requestURI":
			return fRequestURI
		case "userAgent":
			return fUserAgent
		case "requestReceivedTimestamp":
			return fReceived
		case "stageTimestamp":
			return fStageTime
		case "user":
			return fUser
		case "objectRef":
			return fObjectRef
		case "responseStatus":
			return fResponseStatus
		case "sourceIPs":
			return fSourceIPs
		case "annotations":
			return fAnnotations
		}
	case fieldsUser:
		if string(key) == "username" {
			return fUsername
		}
	case fieldsObjectRef:
		switch string(key) {
		case "resource":
			return fResource
		case "subresource":
			return fSubresource
		case "namespace":
			return fNamespace
		case "name":
			return fName
		case "apiGroup":
			return fAPIGroup
		}
	case fieldsStatus:
		if string(key) == "code" {
			return fCode
		}
	}
	return fSkip
}

// keyOrder is the order in which the API server writes each object's keys
// (k8s.io/apiserver's audit types, encoded by encoding/json in field
// order), those premortem skips included, optional ones too. The parser
// compares the bytes at a key with the one it expects next, `"verb":`,
// as four words: a match is the key read without scanning it or looking
// it up. Any other key is read and looked up, and the guesses go on from
// after it.
var keyOrder = [...]keys{
	fieldsTop: newKeys(fieldsTop, "auditID", "stage", "requestURI", "verb", "user", "impersonatedUser",
		"sourceIPs", "userAgent", "objectRef", "responseStatus", "requestObject", "responseObject",
		"requestReceivedTimestamp", "stageTimestamp", "annotations"),
	fieldsUser:      newKeys(fieldsUser, "username", "uid", "groups", "extra"),
	fieldsObjectRef: newKeys(fieldsObjectRef, "resource", "namespace", "name", "uid", "apiGroup", "apiVersion", "resourceVersion", "subresource"),
	fieldsStatus:    newKeys(fieldsStatus, "metadata", "status", "message", "reason", "details", "code"),
}

// keys is one object's expected keys, in order.
type keys []key

type key struct {
	name string
	// `"name":` in the bytes of four little-endian words, and the bytes
	// of them that count.
	word, mask [4]uint64
	n          int // len(`"name":`)
	field      field
}

func newKeys(which int, names ...string) keys {
	ks := make(keys, len(names))
	for k, name := range names {
		pat := []byte(`"` + name + `":`)
		if len(pat) >= 32 {
			// The parser reads the value's first byte after a match
			// within the 32 bytes it compared: a pattern must be shorter.
			panic("audit: key too long to guess: " + name)
		}
		var buf, mask [32]byte
		copy(buf[:], pat)
		for j := range pat {
			mask[j] = 0xff
		}
		ks[k] = key{name: name, n: len(pat), field: fieldOf(which, []byte(name))}
		for j := range 4 {
			ks[k].word[j] = binary.LittleEndian.Uint64(buf[8*j:])
			ks[k].mask[j] = binary.LittleEndian.Uint64(mask[8*j:])
		}
	}
	return ks
}

// at reports whether s starts with `"name":`. Small enough to be inlined
// for the key expected next.
func (k *key) at(s *[32]byte) bool {
	return (binary.LittleEndian.Uint64(s[:8])^k.word[0])&k.mask[0]|
		(binary.LittleEndian.Uint64(s[8:16])^k.word[1])&k.mask[1]|
		(binary.LittleEndian.Uint64(s[16:24])^k.word[2])&k.mask[2]|
		(binary.LittleEndian.Uint64(s[24:])^k.word[3])&k.mask[3] == 0
}

// from looks for the key s starts with among the few expected from
// ks[next] on (optional keys are left out when empty): its place in ks,
// or -1.
func (ks keys) from(s *[32]byte, next int) int {
	for k := next; k < len(ks) && k < next+guesses; k++ {
		if ks[k].at(s) {
			return k
		}
	}
	return -1
}

// guesses is how far ahead from looks: the most optional keys the API
// server leaves out in a row is four (objectRef's namespace, name, uid and
// apiGroup; responseStatus's status, message, reason and details).
const guesses = 5

// after returns where the guesses go on after key, read where next was
// expected: after key's place in the order, or at next when key has none.
func (ks keys) after(key []byte, next int) int {
	for k := range ks {
		if ks[k].name == string(key) {
			return k + 1
		}
	}
	return next
}
