package audit

import "bytes"

// ListClass is the read semantics of a LIST, decided from its query string the
// way the API server's cache delegator decides it (k8s.io/apiserver
// pkg/storage/cacher/delegator.ShouldDelegateList).
type ListClass int

const (
	// ListConsistent: resourceVersion unset, no limit. Read from etcd before
	// 1.31; from 1.31 (ConsistentListFromCache, GA in 1.34) served from the
	// watch cache once it has caught up with etcd.
	ListConsistent ListClass = iota
	// ListConsistentPaged: resourceVersion unset with a limit: the first page
	// of a paginated consistent read; same server-version rule.
	ListConsistentPaged
	// ListContinue: a later page (continue token): etcd before 1.34, from 1.34
	// served from cache snapshots (ListFromCacheSnapshot) when available.
	ListContinue
	// ListExact: resourceVersionMatch=Exact, or a resourceVersion other than
	// "0" together with a limit (the legacy exact form): like ListContinue.
	ListExact
	// ListAny: resourceVersion="0": whatever the watch cache holds.
	ListAny
	// ListNotOlderThan: resourceVersion=N with NotOlderThan (or N without a
	// limit): from the watch cache.
	ListNotOlderThan
	numListClasses
)

var listClassNames = [numListClasses]string{"consistent", "consistent-paged", "continue", "exact", "any-rv0", "not-older-than"}

func (c ListClass) String() string {
	if c >= 0 && c < numListClasses {
		return listClassNames[c]
	}
	return "unknown"
}

// MayReadEtcd reports whether the class reads etcd on some supported server
// versions; these are the expensive kinds to name clients for.
func (c ListClass) MayReadEtcd() bool { return c <= ListExact }

// ListQuery is what the query string of a LIST says.
type ListQuery struct {
	Class         ListClass
	LabelSelector bool
	FieldSelector bool
	Limit         bool
}

// classifyList reads the query string of a LIST requestURI.
func classifyList(uri []byte) ListQuery {
	var rv, match []byte
	var hasRV, cont bool
	var q ListQuery
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		rest := uri[i+1:]
		for len(rest) > 0 {
			var kv []byte
			if j := bytes.IndexByte(rest, '&'); j >= 0 {
				kv, rest = rest[:j], rest[j+1:]
			} else {
				kv, rest = rest, nil
			}
			k, v := kv, []byte(nil)
			if j := bytes.IndexByte(kv, '='); j >= 0 {
				k, v = kv[:j], kv[j+1:]
			}
			switch string(k) {
			case "resourceVersion":
				hasRV, rv = len(v) > 0, v
			case "resourceVersionMatch":
				match = v
			case "continue":
				cont = len(v) > 0
			case "limit":
				q.Limit = len(v) > 0 && !bytes.Equal(v, []byte("0"))
			case "labelSelector":
				q.LabelSelector = len(v) > 0
			case "fieldSelector":
				q.FieldSelector = len(v) > 0
			}
		}
	}
	switch {
	case string(match) == "Exact":
		q.Class = ListExact
	case string(match) == "NotOlderThan":
		q.Class = ListNotOlderThan
		if string(rv) == "0" {
			q.Class = ListAny
		}
	case cont:
		q.Class = ListContinue
	case q.Limit && hasRV && string(rv) != "0":
		q.Class = ListExact
	case !hasRV && q.Limit:
		q.Class = ListConsistentPaged
	case !hasRV:
		q.Class = ListConsistent
	case string(rv) == "0":
		q.Class = ListAny
	default:
		q.Class = ListNotOlderThan
	}
	return q
}
