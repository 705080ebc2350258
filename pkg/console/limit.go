package console

import (
	"errors"
	"fmt"
)

// DefaultMaxRunRecords is LogConfig.MaxRunRecords' default: the most
// records a run may hold for the console to load and render its review.
// BenchmarkRunMemory measures, for a run of 10,000 records (each with its
// receipt, as dossierd logs them), about 9.8 KB of heap retained per
// record once its page is cached (verified facts and the 4.3 KB-a-record
// review document) and a peak of about 13.3 KB a record while the page is
// loaded and rendered from cold (127 MiB for 10,000 records): 5,000
// records peak at about 64 MiB, a quarter of dossierd's 256 MiB budget,
// leaving the rest to ingest.
const DefaultMaxRunRecords = 5000

// PeakBytesPerRecord is the peak heap, per record, of loading and
// rendering a run (BenchmarkRunMemory, rounded up): what raising
// MaxRunRecords costs.
const PeakBytesPerRecord = 14 << 10

// ErrTooLarge: the run holds more records than the console loads
// (LogConfig.MaxRunRecords); it is listed, not loaded, reviewed or
// approved through the console.
var ErrTooLarge = errors.New("run too large to review in the console")

// TooLargeError is ErrTooLarge with its evidence: the run, its records
// (as counted in its stream, before any was read) and the limit.
type TooLargeError struct {
	RunID          string
	Records, Limit int
}

// Error names the run, its records and the limit.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%v: run %q holds %d records, more than the limit of %d", ErrTooLarge, e.RunID, e.Records, e.Limit)
}

// Unwrap returns ErrTooLarge.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// MemoryMiB is about the peak heap, in MiB, loading and rendering the run
// would need (Records × PeakBytesPerRecord, rounded up).
func (e *TooLargeError) MemoryMiB() int {
	return (e.Records*PeakBytesPerRecord + 1<<20 - 1) >> 20
}

// maxRunRecords is the configured limit (DefaultMaxRunRecords when 0).
func (b *LogBackend) maxRunRecords() int {
	if b.cfg.MaxRunRecords > 0 {
		return b.cfg.MaxRunRecords
	}
	return DefaultMaxRunRecords
}

// tooLarge is the entry, at checkpoint size, of a run whose stream holds
// n records, more than the limit: its summary from the count alone, no
// facts, no detail.
func tooLarge(size uint64, id string, n int) *entry {
	return &entry{size: size, summary: RunSummary{RunID: id, Records: n, TooLarge: true}}
}

// tooLargeError is the error of a run page or approval of e, a too-large
// entry.
func (b *LogBackend) tooLargeError(e *entry) error {
	return &TooLargeError{RunID: e.summary.RunID, Records: e.summary.Records, Limit: b.maxRunRecords()}
}
