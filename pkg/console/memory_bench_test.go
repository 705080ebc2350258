package console_test

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/dossier-audit/dossier/pkg/console"
)

// BenchmarkRunMemory measures what one run of 10,000 records (each with
// its receipt, as dossierd logs them) costs the LogBackend in memory: the
// heap its cached list entry retains (verified facts and summary), the
// heap its run page retains (the facts and the rendered review), and the
// peak live heap while the run page is loaded and rendered from cold,
// each per record. The physical bound reported beside them is the run's
// bundles' total size (what the facts are decoded from). MaxRunRecords'
// default is chosen from these figures (logbackend.go).
func BenchmarkRunMemory(b *testing.B) {
	const records = 10000
	f := newDaemonLogFixture(b, records, 0)
	var listKept, pageKept, peak, bundles uint64
	for b.Loop() {
		list, err := console.NewLogBackend(f.cfg)
		if err != nil {
			b.Fatal(err)
		}
		base := liveHeap()
		if _, err := list.Runs(b.Context(), console.Filter{Page: console.Page{Limit: 10}}); err != nil {
			b.Fatal(err)
		}
		listKept = max(listKept, liveHeap()-base)
		runtime.KeepAlive(list)
		list = nil
		fresh, _ := console.NewLogBackend(f.cfg)
		base = liveHeap()
		stop := samplePeak()
		d, err := fresh.Run(b.Context(), logRunID)
		if err != nil {
			b.Fatal(err)
		}
		peak = max(peak, stop()-base)
		pageKept = max(pageKept, liveHeap()-base)
		bundles = 0
		for _, r := range d.Records {
			raw, err := f.log.Bundle(b.Context(), r.Digest)
			if err != nil {
				b.Fatal(err)
			}
			bundles += uint64(len(raw))
		}
		runtime.KeepAlive(fresh)
	}
	per := func(v uint64) float64 { return float64(v) / records }
	b.ReportMetric(per(listKept), "list-retained-B/record")
	b.ReportMetric(per(pageKept), "page-retained-B/record")
	b.ReportMetric(per(peak), "peak-B/record")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(per(bundles), "bundle-B/record")
	b.ReportMetric(float64(peak)/float64(bundles), "ratio")
}

// liveHeap collects garbage and returns the bytes of live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// samplePeak samples the heap's object bytes (live and not yet
// collected) every millisecond until the returned stop is called, which
// returns the largest sample.
func samplePeak() (stop func() uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var top uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			mu.Lock()
			top = max(top, s[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return top
	}
}

// BenchmarkTooLargeRun measures what a run above the default limit (20,000
// records, each with its receipt) costs the LogBackend from cold: the peak
// heap of its list entry and its (refused) run page, which only count its
// records; beside it, as the bound it stays under, what loading it would
// have cost (BenchmarkRunMemory's peak per record, console.PeakBytesPerRecord).
func BenchmarkTooLargeRun(b *testing.B) {
	const records = 20000
	f := newDaemonLogFixture(b, records, 0)
	cfg := f.cfg
	cfg.MaxRunRecords = 0 // the default
	var peak uint64
	for b.Loop() {
		fresh, err := console.NewLogBackend(cfg)
		if err != nil {
			b.Fatal(err)
		}
		base := liveHeap()
		stop := samplePeak()
		p, err := fresh.Runs(b.Context(), console.Filter{Page: console.Page{Limit: 10}})
		if err != nil || len(p.Runs) != 1 || !p.Runs[0].TooLarge {
			b.Fatalf("list: %+v, %v; want the run, too large", p, err)
		}
		if _, err := fresh.Run(b.Context(), logRunID); !errors.Is(err, console.ErrTooLarge) {
			b.Fatalf("run page: %v, want ErrTooLarge", err)
		}
		peak = max(peak, stop()-base)
		runtime.KeepAlive(fresh)
	}
	loaded := float64(records * console.PeakBytesPerRecord)
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
	b.ReportMetric(loaded/(1<<20), "loaded-MiB")
	b.ReportMetric(float64(peak)/loaded, "ratio")
}
