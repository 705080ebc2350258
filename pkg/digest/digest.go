// Package digest hashes files and directory trees (datasets, model weights,
// Hugging Face cache snapshots) into in-toto ResourceDescriptors, and later
// re-verifies retained data against the resulting manifest.
//
// The model: Hash walks each root, refuses what it cannot describe honestly
// (special files, broken or cyclic links, links leaving the root unless
// allowed), then hashes every regular file with SHA-256, in parallel across
// files, streaming each file in large chunks. A file whose size, mtime,
// inode or ctime moves while it is read is an error, never a wrong digest.
// The result is a Manifest: files sorted by name in byte order, and a
// treeDigest that lets one descriptor stand for the whole tree. The same tree
// and options always give the same manifest bytes.
//
// Names. A file's name is its slash-separated path relative to its root; when
// several roots are hashed together, each name starts with its root's base
// name. Empty directories are not recorded. Names must be valid UTF-8 without
// newline or carriage return characters.
//
// Links. A symbolic link that resolves inside its root is hashed as its
// target and recorded with annotation linkTarget (the target's name relative
// to the root). Directory links are followed; a link back to a directory
// being walked is a cycle and an error. Links resolving outside the root are
// refused with ErrLinkEscapes unless Options.AllowExternalLinks is set; their
// linkTarget is then the target's path relative to the root, starting with
// "../" (a Hugging Face snapshot hashed alone records "../../blobs/<hash>",
// the same on every machine), or absolute where no relative path exists.
//
// Excludes. A pattern without "/" is matched against the base name of every
// file and directory at any depth (".git", "*.lock"). A pattern containing
// "/" is matched against the whole name, anchored at the start; "**" as a
// whole path component matches zero or more components ("cache/**/*.tmp").
// Within a component, path.Match syntax applies ("*", "?", "[a-z]", "\\").
// A matching directory is skipped with everything below it. Patterns are
// matched against names before they are hashed by HashNames and are recorded
// verbatim in the manifest.
//
// Hashed names. With HashNames every name (and every root and link target)
// is replaced by hex(HMAC-SHA256(salt, name)) over the whole name, so that
// neither file names nor the directory structure show; the salt stays with
// the data owner, who can recompute and check the names later.
//
// Speed. Files are hashed on Options.Workers goroutines (GOMAXPROCS by
// default), largest first so that a big file does not start last. Each file
// is read in 256 KiB chunks from pooled buffers; SHA-256 of one stream is
// sequential, so when a core would otherwise be idle (a single large file,
// the tail of a tree) a second goroutine reads ahead while the previous
// chunk is hashed. The walk stats every file once, sequentially. Memory
// mapping is not used: a file truncated under a mapping faults, and page
// faults cost more than the copy on virtual machines.
//
// Tree digest. treeDigest is "sha256:" + hex SHA-256 of the concatenation,
// over the files in manifest order, of the lines
//
//	"sha256:" <64 lowercase hex> " " <size in decimal> " " <name> "\n"
//
// (link targets do not enter it: a link and a copy are the same data). A
// shell can recompute it:
//
//	jq -j '.files[] | "sha256:\(.digest.sha256) \(.annotations.size) \(.name)\n"' m.json | sha256sum
package digest

import "errors"

// MediaType identifies version 1 of the hash manifest JSON.
const MediaType = "application/vnd.dossier.hash-manifest.v1+json"

// CheckMediaType identifies version 1 of the check report JSON.
const CheckMediaType = "application/vnd.dossier.hash-check.v1+json"

var (
	// ErrChangedWhileHashing is returned by Hash and Check when a file's
	// size, mtime, inode or ctime changed between the walk, the start and the
	// end of reading it. The digest would describe no version of the file;
	// the caller should hash again once writers are done.
	ErrChangedWhileHashing = errors.New("file changed while it was hashed")
	// ErrSpecialFile is returned for devices, FIFOs, sockets and other
	// non-regular files, which have no stable content to digest. Exclude them.
	ErrSpecialFile = errors.New("special file")
	// ErrLinkEscapes is returned for a symbolic link resolving outside its
	// root when Options.AllowExternalLinks is false.
	ErrLinkEscapes = errors.New("symbolic link leaves the root")
	// ErrBrokenLink is returned for a symbolic link whose target is missing.
	ErrBrokenLink = errors.New("broken symbolic link")
	// ErrLinkCycle is returned for a link loop, or a directory link that leads
	// back to a directory being walked.
	ErrLinkCycle = errors.New("symbolic link cycle")
	// ErrBadName is returned for a file name that cannot be recorded
	// faithfully (invalid UTF-8, newline, carriage return) and for roots
	// whose names collide.
	ErrBadName = errors.New("unusable name")
	// ErrBadPattern is returned for a malformed exclude pattern.
	ErrBadPattern = errors.New("bad exclude pattern")
	// ErrBadManifest is returned by ParseManifest for a document that is not
	// a valid, self-consistent hash manifest.
	ErrBadManifest = errors.New("bad hash manifest")
	// ErrSaltRequired is returned by Check for a manifest with hashed names
	// when no salt is given.
	ErrSaltRequired = errors.New("manifest has hashed names: salt required")
	// ErrWrongSalt is returned by Check when the salt does not match the
	// manifest's saltCheck.
	ErrWrongSalt = errors.New("salt does not match the manifest")
	// ErrRootCount is returned by Check when the number of roots differs
	// from the manifest's.
	ErrRootCount = errors.New("wrong number of roots")
)

// Options configure Hash and Check. The zero value hashes with GOMAXPROCS
// workers, no excludes, refusing external links, names in clear.
type Options struct {
	// Workers is the number of files hashed at once; <= 0 means GOMAXPROCS.
	Workers int
	// Excludes are patterns of names to skip (see the package doc).
	Excludes []string
	// AllowExternalLinks hashes links that leave the root instead of
	// refusing them.
	AllowExternalLinks bool
	// HashNames replaces every name by its salted digest.
	HashNames bool
	// Salt keys the name digests; when nil and HashNames is set, Hash draws
	// 32 random bytes and returns them in Manifest.Salt.
	Salt []byte
	// Planned, when set, is called once after the walk with the number of
	// files and bytes to hash.
	Planned func(files int, bytes int64)
	// Progress, when set, is called with the number of bytes just hashed. It
	// is called from several goroutines at once.
	Progress func(bytes int64)

	// afterChunk is a test seam called after each chunk of a file is read.
	afterChunk func(path string)
}
