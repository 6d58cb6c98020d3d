package kube

import (
	"errors"
	"fmt"

	"github.com/premortem/premortem/internal/sizelimit"
)

// Limits bound what one snapshot file may hold, so a hostile or broken file
// (a gzip bomb, a link to /dev/zero) fails with a Problem instead of
// exhausting memory. Zero fields take DefaultLimits.
type Limits struct {
	// Document bounds one YAML document (converted whole, at several times
	// its size in memory) and the part of one JSON value kept whole: all
	// but the items of a list, which are streamed.
	Document sizelimit.Size
	// Item bounds one item of a JSON list, and one field of a JSON object.
	Item sizelimit.Size
	// Input bounds one file, decompressed.
	Input sizelimit.Size
}

// DefaultLimits are generous: etcd stores objects of at most 1.5 MiB by
// default, and kubectl's YAML of ten thousand pods is about 200 MiB (its
// JSON, streamed item by item, has no such bound).
var DefaultLimits = Limits{Document: 256 << 20, Item: 64 << 20, Input: 64 << 30}

func (l Limits) withDefaults() Limits {
	return Limits{
		Document: l.Document.Or(DefaultLimits.Document),
		Item:     l.Item.Or(DefaultLimits.Item),
		Input:    l.Input.Or(DefaultLimits.Input),
	}
}

// errPastMark is the JSON decoder's input running past the bound for the
// value it is reading.
var errPastMark = errors.New("past the size bound")

// tooLarge is a part of a file past a maximum, at a byte offset of the
// decompressed file.
type tooLarge struct {
	what   string // "item 7", "document 3 (line 40)"; empty for the file
	offset int64
	err    *sizelimit.Error
}

func (e *tooLarge) Error() string { return e.err.Error() }
func (e *tooLarge) Unwrap() error { return e.err }

func (e *tooLarge) where() string {
	if e.what == "" {
		return fmt.Sprintf("byte %d", e.offset)
	}
	return fmt.Sprintf("%s at byte %d", e.what, e.offset)
}
