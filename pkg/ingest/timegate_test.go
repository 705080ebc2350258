package ingest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/ntp/ntptest"
	"github.com/dossier-audit/dossier/pkg/record"
	"github.com/dossier-audit/dossier/pkg/timecheck"
	"github.com/dossier-audit/dossier/pkg/verify"
)

func TestTimeGate(t *testing.T) {
	t.Parallel()
	liar := ntptest.Good()
	liar.Offset = time.Hour
	cases := []struct {
		name    string
		server  ntptest.Behavior
		policy  func(*TimeConfig)
		status  int
		verdict string
		flag    string
		ready   bool
	}{
		{"good accepted", ntptest.Good(), nil, 201, "good", "", true},
		{"bad refused by default", liar, nil, 503, "bad", "", false},
		{"bad flagged when configured", liar, func(c *TimeConfig) { c.OnBad = PolicyFlag }, 201, "bad", "time-bad", true},
		{"untraceable flagged by default", ntptest.ChronyLocal(), nil, 201, "untraceable", "time-untraceable", true},
		{"untraceable refused when configured", ntptest.ChronyLocal(), func(c *TimeConfig) { c.OnUntraceable = PolicyRefuse }, 503, "untraceable", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Time.Servers = []string{ntptest.New(t, tc.server).Addr()}
			cfg.Time.MinAgreeing = 1
			cfg.Time.Interval = Duration(time.Hour)
			if tc.policy != nil {
				tc.policy(&cfg.Time)
			}
			d := startDaemon(t, cfg)
			registerRun(t, d, testRunID)
			r := submit(t, d, testRunID, datasetBody(t, testRunID, 0), "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 503 {
				if p := r.problem(t); p.Code != CodeTimeUntrusted || r.header.Get("Retry-After") == "" {
					t.Fatalf("problem %+v", p)
				}
			} else {
				a := decodeResult(t, r)
				if a.TimeVerdict != tc.verdict || (tc.flag != "" && !contains(a.Flags, tc.flag)) {
					t.Fatalf("answer %+v, want verdict %s flag %q", a, tc.verdict, tc.flag)
				}
			}
			rz := do(t, "GET", d.url+"/readyz", "", nil)
			var st Readiness
			must(t, json.Unmarshal(rz.body, &st))
			if st.Ready != tc.ready || st.Time.Verdict != tc.verdict || st.Time.Evidence == "" || st.Time.Policy == "" {
				t.Fatalf("readyz %d %s", rz.status, rz.body)
			}
			if (rz.status == http.StatusOK) != tc.ready {
				t.Fatalf("readyz status %d", rz.status)
			}
			// The time evidence is in the log.
			if ev := do(t, "GET", d.url+"/v1/records/"+st.Time.Evidence, tokReviewer, nil); ev.status != 200 {
				t.Fatalf("evidence record: %d", ev.status)
			}
		})
	}
}

// TestNoTimeServers: with no NTP server configured the daemon logs an
// honest untraceable time evidence ("no NTP server configured") signed by
// its ingest key, as the CLI does; receipts name it and are flagged
// time-untraceable, and /readyz shows it.
func TestNoTimeServers(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Time.Servers = nil
	d := startDaemon(t, cfg)
	registerRun(t, d, testRunID)
	r := submit(t, d, testRunID, datasetBody(t, testRunID, 0), "")
	if r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	a := decodeResult(t, r)
	if a.TimeVerdict != string(timecheck.Untraceable) || !contains(a.Flags, "time-untraceable") {
		t.Fatalf("answer %+v, want verdict untraceable, flag time-untraceable", a)
	}
	var st Readiness
	must(t, json.Unmarshal(do(t, "GET", d.url+"/readyz", "", nil).body, &st))
	if !st.Ready || st.Time.Verdict != "untraceable" || st.Time.Diagnosis != timecheck.NoServerDiagnosis || st.Time.Evidence == "" {
		t.Fatalf("readyz %+v", st)
	}
	v := ingestVerifier(t, cfg)
	ev := do(t, "GET", d.url+"/v1/records/"+st.Time.Evidence, tokReviewer, nil)
	vr, err := verify.VerifyRecord(ev.body, v, verify.RecordOptions{PredicateType: record.PredicateTypePrefix + "time-evidence/v1"})
	if err != nil {
		t.Fatalf("time evidence: %v (%d %s)", err, ev.status, ev.body)
	}
	var res timecheck.Result
	must(t, json.Unmarshal(vr.Statement.Predicate, &res))
	if res.Verdict != timecheck.Untraceable || res.Diagnosis != timecheck.NoServerDiagnosis {
		t.Fatalf("evidence %s: %s", res.Verdict, res.Diagnosis)
	}
	rc := do(t, "GET", d.url+"/v1/records/"+a.Record+"/receipt", tokProducer, nil)
	rv, err := verify.VerifyRecord(rc.body, v, verify.RecordOptions{PredicateType: receiptType})
	if err != nil {
		t.Fatal(err)
	}
	if p := rv.Statement.Parsed().(*record.Receipt); p.TimeEvidence == nil || p.TimeEvidence.Digest != st.Time.Evidence {
		t.Fatalf("receipt names time evidence %+v, want %s", p.TimeEvidence, st.Time.Evidence)
	}
}
