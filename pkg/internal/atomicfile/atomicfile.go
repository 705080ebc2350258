// Package atomicfile forwards to internal/atomicfile, which cmd/ can import
// too. Import github.com/dossier-audit/dossier/internal/atomicfile instead.
package atomicfile

import "github.com/dossier-audit/dossier/internal/atomicfile"

// WriteFile is internal/atomicfile.WriteFile.
var WriteFile = atomicfile.WriteFile

// WriteNew is internal/atomicfile.WriteNew.
var WriteNew = atomicfile.WriteNew

// SyncDir is internal/atomicfile.SyncDir.
var SyncDir = atomicfile.SyncDir
