package console

// OnScan makes b call f with the run ids of each pass it makes over the
// log (gate.ScanLog). Set it before b serves anything.
func OnScan(b *LogBackend, f func(runs []string)) { b.onScan = f }
