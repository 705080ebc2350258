package record

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
)

// ResourceDescriptor is the in-toto v1 ResourceDescriptor profile Dossier
// uses for files and artifacts: a digest set that always contains a
// lowercase sha256, optional name, uri, mediaType and annotations (the
// annotation "size" is a non-negative integer of bytes, "linkTarget" names
// the target of a symlink hashed as its target). The in-toto fields content
// and downloadLocation are not used.
type ResourceDescriptor struct {
	Name        string                     `json:"name,omitempty"`
	URI         string                     `json:"uri,omitempty"`
	Digest      map[string]string          `json:"digest"`
	MediaType   string                     `json:"mediaType,omitempty"`
	Annotations map[string]json.RawMessage `json:"annotations,omitempty"`
}

// SHA256 returns the descriptor's sha256 hex digest.
func (d ResourceDescriptor) SHA256() string { return d.Digest["sha256"] }

// rd checks a descriptor; named descriptors must carry a name.
func (c *checker) rd(path string, d *ResourceDescriptor, named bool) {
	if !rdOK(d, named) {
		c.rdFull(path, d, named)
	}
}

// rdFull is rd without the fast path.
func (c *checker) rdFull(path string, d *ResourceDescriptor, named bool) {
	c.str(joinPath(path, "name"), d.Name, named, MaxURI)
	c.str(joinPath(path, "uri"), d.URI, false, MaxURI)
	c.match(joinPath(path, "mediaType"), d.MediaType, false, MaxShort, reMedia, "a media type")
	c.digestSet(joinPath(path, "digest"), d.Digest)
	c.annotations(joinPath(path, "annotations"), d.Annotations)
}

func (c *checker) digestSet(path string, ds map[string]string) {
	if _, ok := ds["sha256"]; !ok {
		c.add(path, ErrDigest, "no sha256 digest")
	}
	c.count(path, len(ds), false, 8)
	for _, alg := range slices.Sorted(maps.Keys(ds)) {
		p, v := member(path, alg), ds[alg]
		switch {
		case !reAlg.MatchString(alg):
			c.add(p, ErrDigest, "algorithm name %q", alg)
		case alg == "sha256" && (len(v) != 64 || !isLowerHex(v)):
			c.add(p, ErrDigest, "%q, want 64 lowercase hex", v)
		case len(v) > 128 || !isLowerHex(v):
			c.add(p, ErrDigest, "%q, want lowercase hex", v)
		}
	}
}

func (c *checker) annotations(path string, a map[string]json.RawMessage) {
	c.count(path, len(a), false, 64)
	for _, k := range slices.Sorted(maps.Keys(a)) {
		p := member(path, k)
		c.str(p, k, true, MaxShort)
		switch k {
		case "size":
			if !isSize(a[k]) {
				c.add(p, ErrType, "got %s, want a non-negative integer", a[k])
			}
		case "linkTarget":
			var s string
			if json.Unmarshal(a[k], &s) != nil {
				c.add(p, ErrType, "got %s, want a string", a[k])
			} else {
				c.str(p, s, true, MaxURI)
			}
		}
	}
}

// rds checks a list of named descriptors.
func (c *checker) rds(path string, ds []ResourceDescriptor, required bool, max int) {
	c.count(path, len(ds), required, max)
	for i := range ds {
		c.rd(index(path, i), &ds[i], true)
	}
}

// Producer says who produced a record: a person or a workload.
type Producer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// ExternalRef points at the same event in another system (MLflow,
// Kubeflow, Slurm, ...).
type ExternalRef struct {
	System string `json:"system"`
	ID     string `json:"id"`
	URI    string `json:"uri,omitempty"`
}

// TimeEvidenceRef names the latest time-evidence record the producer saw.
type TimeEvidenceRef struct {
	Digest string `json:"digest"`
}

// Common holds the fields at the top level of every predicate except
// time-evidence. RunID and Attempt are present exactly in run-scoped kinds.
type Common struct {
	RunID        string           `json:"runId,omitempty"`
	Attempt      int              `json:"attempt,omitempty"`
	ProducedAt   string           `json:"producedAt"`
	Producer     Producer         `json:"producer"`
	ExternalRefs []ExternalRef    `json:"externalRefs,omitempty"`
	TimeEvidence *TimeEvidenceRef `json:"timeEvidence,omitempty" strictjson:"nullable"`
}

// ProducedTime returns ProducedAt parsed; the zero time if it is invalid.
func (c Common) ProducedTime() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, c.ProducedAt)
	return t
}

func (c *checker) common(cm *Common, runScoped bool) {
	if runScoped {
		c.match("runId", cm.RunID, true, 128, reRunID, "a run id ([A-Za-z0-9][A-Za-z0-9._-]*)")
		switch {
		case cm.Attempt == 0:
			c.add("attempt", ErrMissing, "a run-scoped record needs an attempt >= 1")
		case cm.Attempt < 0:
			c.add("attempt", ErrRange, "%d, want >= 1", cm.Attempt)
		}
	} else {
		if cm.RunID != "" {
			c.add("runId", ErrUnknownField, "not allowed in a record that is not run-scoped")
		}
		if cm.Attempt != 0 {
			c.add("attempt", ErrUnknownField, "not allowed in a record that is not run-scoped")
		}
	}
	c.timestamp("producedAt", cm.ProducedAt, true)
	c.str("producer.id", cm.Producer.ID, true, MaxShort)
	c.str("producer.name", cm.Producer.Name, true, MaxShort)
	c.enum("producer.kind", cm.Producer.Kind, true, "person", "workload")
	c.count("externalRefs", len(cm.ExternalRefs), false, 64)
	for i, r := range cm.ExternalRefs {
		p := index("externalRefs", i)
		c.str(p+".system", r.System, true, 64)
		c.str(p+".id", r.ID, true, MaxShort)
		c.str(p+".uri", r.URI, false, MaxURI)
	}
	if cm.TimeEvidence != nil {
		c.digest("timeEvidence.digest", cm.TimeEvidence.Digest, true)
	}
}

// rdOK is a conservative fast check of the common case, without building
// paths: true only if rd would find nothing. Descriptors it is unsure
// about get the full check.
func rdOK(d *ResourceDescriptor, named bool) bool {
	if (named && d.Name == "") || len(d.Name) > MaxURI || len(d.URI) > MaxURI || len(d.MediaType) > MaxShort ||
		(d.MediaType != "" && !reMedia.MatchString(d.MediaType)) || len(d.Digest) > 8 || len(d.Annotations) > 64 {
		return false
	}
	if v, ok := d.Digest["sha256"]; !ok || len(v) != 64 || !isLowerHex(v) {
		return false
	}
	for alg, v := range d.Digest {
		if !reAlg.MatchString(alg) || len(v) > 128 || !isLowerHex(v) {
			return false
		}
	}
	for k, v := range d.Annotations {
		if k == "" || len(k) > MaxShort || k == "linkTarget" || (k == "size" && !isSize(v)) {
			return false
		}
	}
	return true
}

// isSize reports whether raw is a JSON non-negative integer that fits uint64.
func isSize(raw json.RawMessage) bool {
	if !reCount.Match(raw) {
		return false
	}
	_, err := strconv.ParseUint(string(raw), 10, 64)
	return err == nil
}
