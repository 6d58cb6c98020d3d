package kube

import (
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/tools/cache"

	"github.com/premortem/premortem/internal/snapshot"
)

// Store is a watched kind's cache for an agent: its trimmed objects held by
// value in one slice of the kind's snapshot type, which an evaluation reads
// in place. An informer's cache holds one heap object per Kubernetes object
// and an evaluation copied all of them into a new snapshot: at 150,000 Pods
// that copy alone was 179 MB on top of the cache. Store is a client-go
// ReflectorStore (the kind's reflector writes into it) and a
// TransformingStore (objects are trimmed with Feed.Trim on the way in).
//
// Objects keep no fixed place: a delete moves the last object into the
// hole, and Fill sorts them into a LIST's order when they are not.
type Store struct {
	feed    *Feed
	changed func()

	mu     sync.RWMutex
	items  reflect.Value // []T, T the kind's snapshot type
	keys   []string      // keys[i] is the key (namespace/name) of items[i]
	index  map[string]int
	sorted bool
	// Read without the lock: /readyz and /metrics must not wait behind a
	// watch that waits for an evaluation's read lock.
	len    atomic.Int64
	synced atomic.Bool
}

// NewStore returns an empty store of f's kind; changed, when not nil, is
// called after every change (outside the store's lock).
func (f *Feed) NewStore(changed func()) *Store {
	return &Store{feed: f, changed: changed, index: map[string]int{}}
}

// Transformer trims objects as the LIST chain does (cache.TransformingStore):
// the reflector applies it to a streamed initial state before Replace.
func (s *Store) Transformer() cache.TransformFunc { return s.feed.Trim }

// Add stores obj, trimmed.
func (s *Store) Add(obj any) error { return s.put(obj) }

// Update stores obj, trimmed.
func (s *Store) Update(obj any) error { return s.put(obj) }

func (s *Store) put(obj any) error {
	t, err := s.feed.Trim(obj)
	if err != nil {
		return err
	}
	key := listKey(t)
	v := reflect.ValueOf(t).Elem()
	s.mu.Lock()
	if !s.items.IsValid() {
		// The slice's type is the trimmed objects': known from the first.
		s.items = reflect.MakeSlice(reflect.SliceOf(v.Type()), 0, 0)
	}
	if i, ok := s.index[key]; ok {
		s.items.Index(i).Set(v)
	} else {
		s.index[key] = s.items.Len()
		s.items = reflect.Append(s.items, v)
		s.keys = append(s.keys, key)
		s.sorted = false
		s.len.Store(int64(len(s.keys)))
	}
	s.mu.Unlock()
	s.notify()
	return nil
}

// Delete removes obj (or a cache.DeletedFinalStateUnknown of it).
func (s *Store) Delete(obj any) error {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return err
	}
	s.mu.Lock()
	i, ok := s.index[key]
	if ok {
		last := s.items.Len() - 1
		if i != last {
			s.items.Index(i).Set(s.items.Index(last))
			s.keys[i] = s.keys[last]
			s.index[s.keys[i]] = i
			s.sorted = false
		}
		// Clear the vacated slot: it would keep its object's memory.
		s.items.Index(last).SetZero()
		s.items = s.items.Slice(0, last)
		s.keys[last] = ""
		s.keys = s.keys[:last]
		delete(s.index, key)
		s.len.Store(int64(len(s.keys)))
	}
	s.mu.Unlock()
	if ok {
		s.notify()
	}
	return nil
}

// Replace makes objs the whole kind: a relist, or the streamed initial
// state. The store is synced from then on.
func (s *Store) Replace(objs []any, _ string) error {
	// Room for the kind to grow a little (3%) before the slice is
	// reallocated: a reallocation briefly holds two copies of the kind.
	var items reflect.Value
	keys := make([]string, 0, len(objs))
	index := make(map[string]int, len(objs))
	for _, o := range objs {
		t, err := s.feed.Trim(o)
		if err != nil {
			return err
		}
		v := reflect.ValueOf(t).Elem()
		if !items.IsValid() {
			items = reflect.MakeSlice(reflect.SliceOf(v.Type()), 0, len(objs)+len(objs)/32+16)
		}
		key := listKey(t)
		if i, dup := index[key]; dup {
			items.Index(i).Set(v)
			continue
		}
		index[key] = items.Len()
		items = reflect.Append(items, v)
		keys = append(keys, key)
	}
	s.mu.Lock()
	s.items, s.keys, s.index, s.sorted = items, keys, index, false
	s.len.Store(int64(len(keys)))
	s.synced.Store(true)
	s.mu.Unlock()
	s.notify()
	return nil
}

// Resync does nothing: the store has no queue.
func (s *Store) Resync() error { return nil }

func (s *Store) notify() {
	if s.changed != nil {
		s.changed()
	}
}

// Synced reports whether the kind has been read whole once (Replace).
func (s *Store) Synced() bool { return s.synced.Load() }

// Len is the number of objects held.
func (s *Store) Len() int { return int(s.len.Load()) }

// PerNamespace counts the objects of each namespace.
func (s *Store) PerNamespace() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	for _, k := range s.keys {
		if ns, _, namespaced := strings.Cut(k, "/"); namespaced {
			out[ns]++
		}
	}
	return out
}

// Fill puts the kind's objects into snap, in a LIST's order (by namespace,
// then name), as Reader.Read would: the store's own slice, not a copy. The
// store is read-locked until release is called, so its watch waits; snap
// must not be read after release.
func (s *Store) Fill(snap *snapshot.Snapshot) (release func()) {
	for {
		s.mu.Lock()
		if !s.sorted {
			if s.items.IsValid() { // nil until the first object
				sort.Sort(byKey{s: s, swap: reflect.Swapper(s.items.Interface())})
				for i, k := range s.keys {
					s.index[k] = i
				}
			}
			s.sorted = true
		}
		s.mu.Unlock()
		s.mu.RLock()
		if s.sorted {
			break
		}
		s.mu.RUnlock() // changed in between: sort again
	}
	if n := len(s.keys); n > 0 {
		// Capacity cut to length: an append to the snapshot's slice must
		// not write into the store's spare room.
		s.feed.spec.add(snap, page{items: s.items.Slice3(0, n, n).Interface(), n: n})
	}
	return s.mu.RUnlock
}

// byKey sorts a store's objects by key, moving keys and objects together.
type byKey struct {
	s    *Store
	swap func(i, j int)
}

func (b byKey) Len() int           { return len(b.s.keys) }
func (b byKey) Less(i, j int) bool { return b.s.keys[i] < b.s.keys[j] }
func (b byKey) Swap(i, j int) {
	b.s.keys[i], b.s.keys[j] = b.s.keys[j], b.s.keys[i]
	b.swap(i, j)
}

var _ cache.ReflectorStore = (*Store)(nil)
var _ cache.TransformingStore = (*Store)(nil)
