package preflight

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Helm's release storage drivers premortem reads (HELM_DRIVER values).
const (
	StorageSecret    = "secret"
	StorageConfigMap = "configmap"
)

// DefaultMaxReleaseBytes bounds the decompressed size of one release record.
// A release record is gzip-compressed JSON in an object the API server
// caps near 1.5 MiB; real records decompress to a few MiB at most, while a
// crafted one (a gzip bomb) decompresses ~1000:1. Helm's own decoder reads it
// all into memory with no bound, so premortem checks the size first.
const DefaultMaxReleaseBytes = 32 << 20

// ErrReleaseTooLarge is returned for a release record whose payload exceeds
// the size limit, compressed or not.
var ErrReleaseTooLarge = errors.New("release record too large")

// NotAReleaseError is an object that is not a Helm release record (wrong
// labels, missing data, a payload that does not decode to a release).
type NotAReleaseError struct {
	Kind, Namespace, Name string
	Err                   error
}

func (e *NotAReleaseError) Error() string {
	return fmt.Sprintf("%s %s/%s is not a Helm release: %v", e.Kind, e.Namespace, e.Name, e.Err)
}
func (e *NotAReleaseError) Unwrap() error { return e.Err }

// ReleaseNotFoundError is a release with no record in the namespace.
type ReleaseNotFoundError struct {
	Name, Namespace, Storage string
}

func (e *ReleaseNotFoundError) Error() string {
	return fmt.Sprintf("release %q not found in namespace %q (Helm %s storage: no object labelled owner=helm,name=%s)",
		e.Name, e.Namespace, e.Storage, e.Name)
}

// CheckPayload verifies that a release payload (the "release" data of a
// Helm Secret or ConfigMap: base64 of gzip of JSON) decodes within max bytes
// at every stage, streaming the decompression into a counter so a gzip bomb
// costs CPU up to the limit and no memory. Helm's driver decodes with
// io.ReadAll and no bound; it only gets payloads that passed this check.
func CheckPayload(payload []byte, max int64) error {
	if max <= 0 {
		max = DefaultMaxReleaseBytes
	}
	if int64(len(payload)) > max {
		return fmt.Errorf("%w: %d bytes of base64, limit %d", ErrReleaseTooLarge, len(payload), max)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(payload)))
	n, err := base64.StdEncoding.Decode(raw, payload)
	if err != nil {
		return fmt.Errorf("release payload is not base64: %w", err)
	}
	raw = raw[:n]
	// Helm stores uncompressed JSON for records written before it
	// compressed them; the size check above already bounds those.
	if len(raw) <= 3 || !bytes.Equal(raw[:3], []byte{0x1f, 0x8b, 0x08}) {
		return nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("release payload: %w", err)
	}
	defer zr.Close()
	got, err := io.Copy(io.Discard, io.LimitReader(zr, max+1))
	if err != nil {
		return fmt.Errorf("release payload: gzip: %w", err)
	}
	if got > max {
		return fmt.Errorf("%w: decompresses to more than %d bytes", ErrReleaseTooLarge, max)
	}
	return nil
}

// DecodeSecret decodes a Helm release Secret with Helm's own storage driver
// after checking its labels, type and payload size. It never panics on
// corrupt input (the fuzz test holds it to that).
func DecodeSecret(s *corev1.Secret, max int64) (*release.Release, error) {
	notRelease := func(err error) error {
		return &NotAReleaseError{Kind: "Secret", Namespace: s.Namespace, Name: s.Name, Err: err}
	}
	if s.Type != "" && s.Type != "helm.sh/release.v1" {
		return nil, notRelease(fmt.Errorf("type %q, want helm.sh/release.v1", s.Type))
	}
	if err := checkRecord(s.Labels, s.Data["release"], max); err != nil {
		return nil, notRelease(err)
	}
	rel, err := decodeWith(func(log func(string, ...any)) ([]*release.Release, error) {
		d := driver.NewSecrets(&secretStore{items: []corev1.Secret{*s}})
		d.Log = log
		return d.List(func(*release.Release) bool { return true })
	})
	if err != nil {
		return nil, notRelease(err)
	}
	return rel, nil
}

// DecodeConfigMap is DecodeSecret for Helm's ConfigMap storage driver.
func DecodeConfigMap(c *corev1.ConfigMap, max int64) (*release.Release, error) {
	notRelease := func(err error) error {
		return &NotAReleaseError{Kind: "ConfigMap", Namespace: c.Namespace, Name: c.Name, Err: err}
	}
	if err := checkRecord(c.Labels, []byte(c.Data["release"]), max); err != nil {
		return nil, notRelease(err)
	}
	rel, err := decodeWith(func(log func(string, ...any)) ([]*release.Release, error) {
		d := driver.NewConfigMaps(&configMapStore{items: []corev1.ConfigMap{*c}})
		d.Log = log
		return d.List(func(*release.Release) bool { return true })
	})
	if err != nil {
		return nil, notRelease(err)
	}
	return rel, nil
}

func checkRecord(labels map[string]string, payload []byte, max int64) error {
	if labels["owner"] != "helm" {
		return errors.New("not labelled owner=helm")
	}
	if len(payload) == 0 {
		return errors.New("no release data")
	}
	return CheckPayload(payload, max)
}

// decodeWith runs one of Helm's drivers over a single in-memory record.
// List, not Get: in Helm v3.21 the drivers' Get dereferences the release
// before checking the decode error, so a corrupt record panics there; List
// reports it through the driver's Log and skips it, which we turn back into
// an error. The recover is a last guard for whatever else the fuzz test may
// find in code we do not own.
func decodeWith(list func(log func(string, ...any)) ([]*release.Release, error)) (rel *release.Release, err error) {
	defer func() {
		if r := recover(); r != nil {
			rel, err = nil, fmt.Errorf("helm release decoder panicked: %v", r)
		}
	}()
	var decodeErr string
	rels, err := list(func(format string, args ...any) {
		// The driver logs the whole object with the error; keep only the
		// error, which is last, so Secret data never reaches a message.
		if len(args) > 0 {
			decodeErr = fmt.Sprint(args[len(args)-1])
		} else {
			decodeErr = format
		}
	})
	if err != nil {
		return nil, err
	}
	if len(rels) != 1 {
		if decodeErr == "" {
			decodeErr = "record did not decode"
		}
		return nil, errors.New(decodeErr)
	}
	rel = rels[0]
	switch {
	case rel.Name == "":
		return nil, errors.New("decoded record has no release name")
	case rel.Info == nil:
		return nil, errors.New("decoded record has no release info")
	case rel.Chart == nil || rel.Chart.Metadata == nil:
		return nil, errors.New("decoded record has no chart metadata")
	}
	return rel, nil
}

// secretStore serves one or more Secrets to Helm's Secrets driver from
// memory; the driver only calls List on it here. The embedded nil interface
// makes any other call panic, which decodeWith turns into an error.
type secretStore struct {
	corev1client.SecretInterface
	items []corev1.Secret
}

func (s *secretStore) List(context.Context, metav1.ListOptions) (*corev1.SecretList, error) {
	return &corev1.SecretList{Items: s.items}, nil
}

type configMapStore struct {
	corev1client.ConfigMapInterface
	items []corev1.ConfigMap
}

func (s *configMapStore) List(context.Context, metav1.ListOptions) (*corev1.ConfigMapList, error) {
	return &corev1.ConfigMapList{Items: s.items}, nil
}

// record is the metadata of one release record.
type record struct {
	name    string // object name, sh.helm.release.v1.NAME.vN
	release string
	version int
	status  release.Status
}

// pickCurrent chooses the record `helm upgrade` diffs against, from the
// records' labels alone: the last revision if it is deployed; else the
// deployed one; else the last if it failed or was superseded. A pending last
// revision means another operation is in progress and Helm refuses.
func pickCurrent(recs []record) (record, error) {
	if len(recs) == 0 {
		return record{}, errors.New("no records")
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].version < recs[j].version })
	last := recs[len(recs)-1]
	if last.status.IsPending() {
		return record{}, fmt.Errorf("release %s revision %d is %s: another operation is in progress and helm upgrade would refuse",
			last.release, last.version, last.status)
	}
	if last.status == release.StatusDeployed {
		return last, nil
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].status == release.StatusDeployed {
			return recs[i], nil
		}
	}
	if last.status == release.StatusFailed || last.status == release.StatusSuperseded {
		return last, nil
	}
	return record{}, fmt.Errorf("release %s has no deployed revision (last revision %d is %s)", last.release, last.version, last.status)
}

func recordOf(m metav1.ObjectMeta) (record, bool) {
	v, err := strconv.Atoi(m.Labels["version"])
	if err != nil || m.Labels["owner"] != "helm" || m.Labels["name"] == "" {
		return record{}, false
	}
	return record{name: m.Name, release: m.Labels["name"], version: v,
		status: release.Status(strings.ToLower(m.Labels["status"]))}, true
}
