package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

// countSource emits the same 64 KiB of lines n times.
type countSource struct {
	chunk []byte
	n     int
}

func (s *countSource) Kind() ingest.Kind { return ingest.KindFile }
func (s *countSource) Name() string      { return "bench" }
func (s *countSource) Run(ctx context.Context, out ingest.Emitter) error {
	f := ingest.NewFramer(out, 0, nil)
	defer f.Close()
	for range s.n {
		if _, err := f.Write(s.chunk); err != nil {
			return err
		}
		if err := f.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkPipelineNoMatch: one op is one 64 KiB block of lines that match
// no rule, from source through ring, worker and matcher. It must not
// allocate: allocs/op is 0 once the pipeline's start-up (rule compilation,
// one per run) is spread over enough blocks, e.g. -benchtime 20000x.
func BenchmarkPipelineNoMatch(b *testing.B) {
	line := "2026-11-23T10:00:00Z INFO request served path=/api/items status=200 took=12ms error_count=0\n"
	chunk := []byte(strings.Repeat(line, (64<<10-1)/len(line)))
	cfg := defaultConfig()
	run := func(n int) {
		src := &countSource{chunk: chunk, n: n}
		disp := sink.NewDispatcher(map[string]sink.Destination{"out": &countingDest{}}, sink.Options{})
		p, err := New(cfg, []ingest.Source{src}, []*ingest.Stats{nil}, Options{Workers: 1, Dispatcher: disp})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if p.Stats().Alerts.Load() != 0 {
			b.Fatal("a line matched")
		}
	}
	b.SetBytes(int64(len(chunk)))
	b.ReportAllocs()
	run(b.N)
}
