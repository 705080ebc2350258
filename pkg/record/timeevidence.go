package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// TimeEvidence is the predicate of kind "time-evidence": exactly the JSON
// pkg/timecheck produces for one k-of-n NTP check (durations in integer
// nanoseconds, times RFC 3339 UTC with nanoseconds). It is log-scoped: no
// runId, attempt or producer; its statement's subject[0] is
// {"name":"time-evidence","digest":{"sha256": SHA-256 of the compact JSON of
// the predicate}} (NIST 800-53 AU-8, SC-45(1)).
type TimeEvidence struct {
	CheckedAt  string       `json:"checkedAt"`
	Verdict    string       `json:"verdict"`
	Diagnosis  string       `json:"diagnosis"`
	OffsetNs   int64        `json:"offsetNs"`
	MaxErrorNs int64        `json:"maxErrorNs"`
	Agreeing   int          `json:"agreeing"`
	Required   int          `json:"required"`
	Policy     TimePolicy   `json:"policy"`
	Sources    []TimeSource `json:"sources"`
}

// TimePolicy is the policy the check was judged against.
type TimePolicy struct {
	MaxErrorNs        int64 `json:"maxErrorNs"`
	MinAgreeing       int   `json:"minAgreeing"`
	MaxRttNs          int64 `json:"maxRttNs"`
	MaxRootDistanceNs int64 `json:"maxRootDistanceNs"`
	MaxStalenessNs    int64 `json:"maxStalenessNs"`
}

// TimeSource is one NTP server's observation.
type TimeSource struct {
	Server           string `json:"server"`
	Answered         bool   `json:"answered"`
	Stratum          int    `json:"stratum"`
	RefID            string `json:"refId"`
	Leap             int    `json:"leap"`
	OffsetNs         int64  `json:"offsetNs"`
	RttNs            int64  `json:"rttNs"`
	RootDelayNs      int64  `json:"rootDelayNs"`
	RootDispersionNs int64  `json:"rootDispersionNs"`
	RootDistanceNs   int64  `json:"rootDistanceNs"`
	T1               string `json:"t1"`
	T2               string `json:"t2"`
	T3               string `json:"t3"`
	T4               string `json:"t4"`
	Accepted         bool   `json:"accepted"`
	Reason           string `json:"reason"`
}

// MaxTimeSources bounds the servers of one check.
const MaxTimeSources = 64

const maxNs = int64(100 * 365 * 24 * time.Hour)

// CommonFields returns ProducedAt = checkedAt; the other fields are empty.
func (p *TimeEvidence) CommonFields() Common { return Common{ProducedAt: p.CheckedAt} }

// Validate checks the predicate; see spec/predicates/time-evidence.md.
func (p *TimeEvidence) Validate() error {
	c := &checker{}
	c.timestamp("checkedAt", p.CheckedAt, true)
	c.enum("verdict", p.Verdict, true, "good", "degraded", "untraceable", "bad")
	c.str("diagnosis", p.Diagnosis, true, MaxText)
	c.intRange("offsetNs", p.OffsetNs, -maxNs, maxNs)
	c.intRange("maxErrorNs", p.MaxErrorNs, 0, maxNs)
	c.intRange("agreeing", int64(p.Agreeing), 0, int64(len(p.Sources)))
	c.intRange("required", int64(p.Required), 0, MaxTimeSources)
	c.intRange("policy.maxErrorNs", p.Policy.MaxErrorNs, 0, maxNs)
	c.intRange("policy.minAgreeing", int64(p.Policy.MinAgreeing), 0, MaxTimeSources)
	c.intRange("policy.maxRttNs", p.Policy.MaxRttNs, 0, maxNs)
	c.intRange("policy.maxRootDistanceNs", p.Policy.MaxRootDistanceNs, 0, maxNs)
	c.intRange("policy.maxStalenessNs", p.Policy.MaxStalenessNs, 0, maxNs)
	c.count("sources", len(p.Sources), false, MaxTimeSources)
	for i, s := range p.Sources {
		c.timeSource(index("sources", i), s)
	}
	return c.err()
}

func (c *checker) timeSource(path string, s TimeSource) {
	c.str(path+".server", s.Server, true, MaxShort)
	c.intRange(path+".stratum", int64(s.Stratum), 0, 255)
	c.str(path+".refId", s.RefID, false, 64)
	c.intRange(path+".leap", int64(s.Leap), 0, 3)
	c.intRange(path+".offsetNs", s.OffsetNs, -maxNs, maxNs)
	c.intRange(path+".rttNs", s.RttNs, 0, maxNs)
	c.intRange(path+".rootDelayNs", s.RootDelayNs, -maxNs, maxNs)
	c.intRange(path+".rootDispersionNs", s.RootDispersionNs, 0, maxNs)
	c.intRange(path+".rootDistanceNs", s.RootDistanceNs, 0, maxNs)
	for _, t := range []struct{ name, v string }{{"t1", s.T1}, {"t2", s.T2}, {"t3", s.T3}, {"t4", s.T4}} {
		c.timestamp(path+"."+t.name, t.v, true)
	}
	c.str(path+".reason", s.Reason, false, MaxText)
	if s.Accepted && !s.Answered {
		c.add(path+".accepted", ErrInconsistent, "accepted but not answered")
	}
}

// timeEvidenceSubject: {"name":"time-evidence","digest":{"sha256": SHA-256
// of the compact JSON of the predicate}}.
func timeEvidenceSubject(raw []byte, _ Predicate) (ResourceDescriptor, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return ResourceDescriptor{}, fieldErr("", ErrSyntax, "%v", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return ResourceDescriptor{Name: "time-evidence", Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}, nil
}

const timeEvidenceTemplate = `{
 "checkedAt": "2026-11-27T09:00:00.123456789Z", "verdict": "good",
 "diagnosis": "2 of 3 sources agree within 1.8ms; policy max error 50ms",
 "offsetNs": -412000, "maxErrorNs": 1800000, "agreeing": 2, "required": 2,
 "policy": {"maxErrorNs": 50000000, "minAgreeing": 2, "maxRttNs": 100000000, "maxRootDistanceNs": 100000000, "maxStalenessNs": 86400000000000},
 "sources": [
  {"server": "ntp1.internal:123", "answered": true, "stratum": 1, "refId": "GPS", "leap": 0,
   "offsetNs": -398000, "rttNs": 610000, "rootDelayNs": 0, "rootDispersionNs": 15000, "rootDistanceNs": 340000,
   "t1": "2026-11-27T09:00:00.100000000Z", "t2": "2026-11-27T09:00:00.099907000Z", "t3": "2026-11-27T09:00:00.099911000Z", "t4": "2026-11-27T09:00:00.100614000Z",
   "accepted": true, "reason": "within majority intersection"},
  {"server": "ntp2.internal:123", "answered": true, "stratum": 2, "refId": "10.0.0.5", "leap": 0,
   "offsetNs": -430000, "rttNs": 820000, "rootDelayNs": 450000, "rootDispersionNs": 900000, "rootDistanceNs": 1540000,
   "t1": "2026-11-27T09:00:00.100002000Z", "t2": "2026-11-27T09:00:00.099983000Z", "t3": "2026-11-27T09:00:00.099990000Z", "t4": "2026-11-27T09:00:00.100829000Z",
   "accepted": true, "reason": "within majority intersection"},
  {"server": "ntp3.internal:123", "answered": false, "stratum": 0, "refId": "", "leap": 0,
   "offsetNs": 0, "rttNs": 0, "rootDelayNs": 0, "rootDispersionNs": 0, "rootDistanceNs": 0,
   "t1": "0001-01-01T00:00:00Z", "t2": "0001-01-01T00:00:00Z", "t3": "0001-01-01T00:00:00Z", "t4": "0001-01-01T00:00:00Z",
   "accepted": false, "reason": "no reply within 2s"}]
}`
