package tsa_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/tsa"
	"github.com/dossier-audit/dossier/pkg/tsa/tsatest"
	"github.com/dossier-audit/dossier/pkg/tsa/tsaverify"
)

var checkpoint = []byte("audit.example.internal/log\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— audit.example.internal/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")

func TestStampFaults(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ca := tsatest.NewCA(t, "Test TSA Root", now.Add(-time.Hour))
	good := ca.Issue(t, "Test TSA", now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.Issue(t, "Expired TSA", now.Add(-3*time.Hour), now.Add(-2*time.Hour))
	other := tsatest.NewCA(t, "Other Root", now.Add(-time.Hour)).Issue(t, "Other TSA", now.Add(-time.Hour), now.Add(time.Hour))
	down := downURL(t)
	tests := []struct {
		name  string
		leaf  *tsatest.Leaf
		fault tsatest.Fault
		url   string
		want  error
	}{
		{"good", good, tsatest.OK, "", nil},
		{"down", good, tsatest.OK, down, tsa.ErrUnavailable},
		{"slow", good, tsatest.Slow, "", tsa.ErrUnavailable},
		{"server error", good, tsatest.BadStatus, "", tsa.ErrUnavailable},
		{"rejection", good, tsatest.Rejection, "", tsa.ErrRefused},
		{"wrong imprint", good, tsatest.WrongImprint, "", tsaverify.ErrImprint},
		{"wrong nonce", good, tsatest.WrongNonce, "", tsaverify.ErrNonce},
		{"forged", good, tsatest.Forged, "", tsaverify.ErrSignature},
		{"expired certificate", expired, tsatest.OK, "", tsaverify.ErrValidity},
		{"certificate from another CA", other, tsatest.OK, "", tsaverify.ErrUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tsatest.NewFake(t, tt.leaf, tt.fault)
			url := f.URL()
			if tt.url != "" {
				url = tt.url
			}
			c := &tsa.Client{URL: url, HTTP: &http.Client{Timeout: 300 * time.Millisecond},
				Verify: tsaverify.Options{Roots: []*x509.Certificate{ca.Cert}}}
			st, err := c.Stamp(context.Background(), checkpoint)
			if !errors.Is(err, tt.want) || (tt.want != nil && err == nil) {
				t.Fatalf("Stamp: got %v, want %v", err, tt.want)
			}
			if tt.want == nil {
				assertBound(t, st, now)
			}
		})
	}
}

func assertBound(t *testing.T, st *tsa.Stamp, before time.Time) {
	t.Helper()
	if st.Result.GenTime.Before(before.Add(-time.Second)) || st.Result.GenTime.After(time.Now().Add(time.Second)) {
		t.Errorf("genTime %v outside the request window", st.Result.GenTime)
	}
	if st.Result.Accuracy != time.Second {
		t.Errorf("accuracy %v, want 1s", st.Result.Accuracy)
	}
	if _, err := tsaverify.Verify(st.Response, []byte("other bytes"), tsaverify.Options{}); err == nil {
		t.Error("token verified over other bytes")
	}
}

// downURL returns the URL of a port nothing listens on.
func downURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/api/v1/timestamp"
}
