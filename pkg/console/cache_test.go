package console_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
	"github.com/dossier-audit/dossier/pkg/dossier"
	"github.com/dossier-audit/dossier/pkg/record"
)

// countingLog counts the bundles read through it.
type countingLog struct {
	dossier.Log
	reads atomic.Int64
}

func (l *countingLog) Bundle(ctx context.Context, digest string) ([]byte, error) {
	l.reads.Add(1)
	return l.Log.Bundle(ctx, digest)
}

// TestRunAfterList: a run read for the list (without its review) is not
// read from the log again for its page; when the log has grown since, the
// page reads it again, at the new size.
func TestRunAfterList(t *testing.T) {
	f := newLogFixture(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		grow  bool
		stale bool
	}{
		{"current", false, false},
		{"log grown since", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := &countingLog{Log: f.log}
			cfg := f.cfg
			cfg.Log = cl
			b, err := console.NewLogBackend(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Runs(ctx, console.Filter{Page: console.Page{Limit: 10}}); err != nil {
				t.Fatal(err)
			}
			listed := cl.reads.Load()
			if listed == 0 {
				t.Fatal("the list read no bundle")
			}
			if tc.grow {
				f.append(t, f.sign(t, "time-evidence", record.Template("time-evidence"), false), "time-evidence")
				f.await(t)
			}
			d, err := b.Run(ctx, logRunID)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Review) == 0 || d.Stale != tc.stale {
				t.Fatalf("run page: %d review bytes, stale %t; want a review, stale %t", len(d.Review), d.Stale, tc.stale)
			}
			if !tc.grow && cl.reads.Load() != listed {
				t.Fatalf("the run page read %d bundles again", cl.reads.Load()-listed)
			}
			for range 250 {
				if d, err = b.Run(ctx, logRunID); err != nil || !d.Stale {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil || d.Stale || len(d.Review) == 0 {
				t.Fatalf("after the refresh: stale %t, %d review bytes, %v", d.Stale, len(d.Review), err)
			}
		})
	}
}
