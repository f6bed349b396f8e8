package ingest

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is the class of a source, as rule `sources:` filters name them.
type Kind uint8

const (
	KindFile Kind = iota
	KindContainer
	KindStream
)

func (k Kind) String() string {
	switch k {
	case KindFile:
		return "file"
	case KindContainer:
		return "container"
	default:
		return "stream"
	}
}

// Source produces blocks of lines until its context is cancelled.
//
// Run returns nil when ctx is cancelled, and an error only for failures it
// cannot recover from (a stream source reconnects forever instead). Run
// must not return before every block it emitted was handed to out.
type Source interface {
	// Kind and Name identify the source: a file's path, a container's name,
	// a stream's configured name.
	Kind() Kind
	Name() string
	Run(ctx context.Context, out Emitter) error
}

// Emitter receives full blocks from a source. Emit takes ownership of b and
// may block while the consumer is behind (back-pressure); it returns an
// error only when the pipeline is shutting down, in which case b was
// released.
type Emitter interface {
	Emit(b *Block) error
}

// EmitterFunc adapts a function to Emitter.
type EmitterFunc func(b *Block) error

// Emit calls f(b).
func (f EmitterFunc) Emit(b *Block) error { return f(b) }

// Meta is per-line metadata a source may attach to a block, such as the
// syslog host and app of the lines it holds. It is empty for most sources.
type Meta struct {
	Host string
	App  string
}

// Block is a buffer of whole lines from one source, each ended by '\n'.
type Block struct {
	// B holds the lines. Its capacity is the pool's block size.
	B []byte
	// Lines is the number of lines in B.
	Lines int
	// Meta applies to every line in B.
	Meta Meta
	// Source is set by the pipeline (an index of its sources), not by the
	// source itself.
	Source int
	// Offset is the source position just after B's last line (a file
	// offset; 0 where it has no meaning), for checkpoints.
	Offset int64
}

// DefaultBlockSize is the capacity of pooled blocks.
const DefaultBlockSize = 64 << 10

// Pooled blocks hold a whole default-bounded line, so a framer with the
// default bound never replaces a fresh pool buffer with a larger one.
var blockPool = sync.Pool{New: func() any { return &Block{B: make([]byte, 0, max(DefaultBlockSize, DefaultMaxLine+1))} }}

// GetBlock returns an empty block from the pool.
func GetBlock() *Block {
	b := blockPool.Get().(*Block)
	return b
}

// PutBlock returns b to the pool. Oversized buffers are dropped instead of
// pooled so one huge block does not stay in memory forever.
func PutBlock(b *Block) {
	if cap(b.B) > 4*DefaultBlockSize {
		return
	}
	b.B = b.B[:0]
	b.Lines = 0
	b.Meta = Meta{}
	b.Source = 0
	b.Offset = 0
	blockPool.Put(b)
}

// Stats are a source's counters. They are safe for concurrent use.
type Stats struct {
	Lines      atomic.Uint64
	Bytes      atomic.Uint64
	Oversized  atomic.Uint64 // lines cut to the line bound
	Invalid    atomic.Uint64 // malformed input (bad UTF-8, NUL bytes, bad frames)
	Reconnects atomic.Uint64
	Errors     atomic.Uint64
}

// Options are what every source constructor takes besides its config.
type Options struct {
	// MaxLine bounds line length (DefaultMaxLine when <= 0).
	MaxLine int
	// Replay makes file sources read from the beginning and return once
	// they reach the end, instead of following from the end.
	Replay bool
	// FromStart makes a following file source read a file that exists at
	// start from its beginning instead of its end: for files found by a
	// glob while running, which are new.
	FromStart bool
	// Logger receives connection events and throttled bad-input reports.
	Logger *slog.Logger
	// Stats receives the source's counters; a nil Stats is allocated.
	Stats *Stats
	// OnConnection, when set, is called by stream sources each time a
	// connection attempt ends (it failed, broke or was closed), from the
	// source's goroutine; it must not block. The engine turns these into
	// trace spans.
	OnConnection func(Connection)
}

// Connection is one connection attempt of a stream source, from the
// attempt to its end.
type Connection struct {
	Source    string
	Start     time.Time // the attempt began
	Connected time.Time // the connection came up; zero if it never did
	End       time.Time
	Err       error // why it ended; nil for a clean end or a shutdown
}
