package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/match"
	"github.com/tinywatcher/tinywatcher/sink"
)

// Options tune a Pipeline; zero values take defaults.
type Options struct {
	Clock   Clock // default WallClock
	Workers int   // default cfg.Settings.Workers, else GOMAXPROCS
	Ring    int   // blocks per source ring; default 8
	// MaxInflight bounds the blocks read and not yet scanned across all
	// sources, so memory does not grow with the number of sources;
	// default max(32, 8*Workers).
	MaxInflight int
	Logger      *slog.Logger // default slog.Default()
	// Replay reads file sources from their beginning and makes Run return
	// once they are consumed and every alert is flushed.
	Replay bool
	// MaxAlertLine bounds the copy of a matched line put in an alert;
	// default 4096 bytes.
	MaxAlertLine int
	// DrainTimeout bounds how long shutdown waits for rings and alert
	// queues to flush; default 10s.
	DrainTimeout time.Duration
	// Dispatcher receives the alerts. Required.
	Dispatcher *sink.Dispatcher
	// Discover, when set, runs beside the sources until ctx ends and calls
	// add for every source it finds while running (files created later
	// that match an inputs.files glob). Not used in replay mode.
	Discover func(ctx context.Context, add func(ingest.Source, *ingest.Stats))
}

// Pipeline runs sources through the matcher into rule state and dispatch.
type Pipeline struct {
	cfg   *config.Config
	opt   Options
	prog  *match.Program
	rules []ruleMeta
	queue *runQueue

	mu      sync.Mutex // guards sources, errs
	sources []*sourceRun
	errs    []error
	srcs    sync.WaitGroup // running sources

	inflight sync.WaitGroup // blocks pushed and not yet scanned
	budget   chan struct{}  // one token per block in flight (MaxInflight)
	stats    Stats
}

type ruleMeta struct {
	name   string
	alerts []string
	state  *ruleState
	// matches counts every match of the rule, alerted or not; fired the
	// alerts handed to the dispatcher (one per destination).
	matches atomic.Uint64
	fired   atomic.Uint64
}

// sourceRun is one source with its ring and the rules that apply to it.
type sourceRun struct {
	src       ingest.Source
	stats     *ingest.Stats
	ring      *ring
	mask      match.Bits
	scheduled atomic.Bool
	attrs     metric.ObserveOption // its metric attributes, built once
}

// Stats are pipeline counters, safe to read at any time.
type Stats struct {
	Blocks atomic.Uint64
	Alerts atomic.Uint64
}

// New builds the pipeline for cfg from the sources given (see Sources).
func New(cfg *config.Config, sources []ingest.Source, stats []*ingest.Stats, opt Options) (*Pipeline, error) {
	if opt.Dispatcher == nil {
		return nil, errors.New("BUG: engine.New without a dispatcher")
	}
	if opt.Clock == nil {
		opt.Clock = WallClock
	}
	if opt.Workers <= 0 {
		opt.Workers = cfg.Settings.Workers
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Ring <= 0 {
		opt.Ring = 8
	}
	if opt.MaxInflight <= 0 {
		opt.MaxInflight = max(32, 8*opt.Workers)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxAlertLine <= 0 {
		opt.MaxAlertLine = 4096
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = 10 * time.Second
	}
	mrules := make([]match.Rule, len(cfg.Rules))
	p := &Pipeline{cfg: cfg, opt: opt, queue: newRunQueue(), rules: make([]ruleMeta, len(cfg.Rules)), budget: make(chan struct{}, opt.MaxInflight)}
	for i, r := range cfg.Rules {
		mrules[i] = match.Rule{Name: r.Name, Pattern: r.Pattern, Text: r.Text, IgnoreCase: r.IgnoreCase}
		var n int
		var w time.Duration
		if r.Threshold != nil {
			n, w = r.Threshold.Count, r.Threshold.Window
		}
		p.rules[i] = ruleMeta{name: r.Name, alerts: r.Alert, state: newRuleState(time.Duration(r.Cooldown), n, w)}
	}
	prog, err := match.Compile(mrules)
	if err != nil {
		return nil, err
	}
	p.prog = prog
	for i, src := range sources {
		p.sources = append(p.sources, p.newSourceRun(src, stats[i]))
	}
	return p, nil
}

func (p *Pipeline) newSourceRun(src ingest.Source, st *ingest.Stats) *sourceRun {
	if st == nil {
		st = new(ingest.Stats)
	}
	return &sourceRun{
		src:   src,
		stats: st,
		ring:  newRing(p.opt.Ring),
		mask:  SourceMask(p.cfg.Rules, src.Kind(), src.Name()),
		attrs: metric.WithAttributes(attribute.String("source", src.Name()), attribute.String("kind", src.Kind().String())),
	}
}

// start runs s in its own goroutine until ctx ends (or s finishes).
func (p *Pipeline) start(ctx, pushCtx context.Context, s *sourceRun) {
	p.srcs.Add(1)
	go func() {
		defer p.srcs.Done()
		if err := s.src.Run(ctx, p.emitter(pushCtx, s)); err != nil && ctx.Err() == nil {
			p.opt.Logger.Error("source stopped", "source", s.src.Name(), "err", err)
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Errorf("source %s: %w", s.src.Name(), err))
			p.mu.Unlock()
		}
	}()
}

// snapshot returns the sources running now.
func (p *Pipeline) snapshot() []*sourceRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sourceRun(nil), p.sources...)
}

// Program is the compiled rule program.
func (p *Pipeline) Program() *match.Program { return p.prog }

// RuleMatches returns how many times rule i matched, alerted or not.
func (p *Pipeline) RuleMatches(i int) uint64 { return p.rules[i].matches.Load() }

// Stats returns the pipeline counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Run starts every source and worker and returns when ctx ends (or, in
// replay mode, when every source finished), after the rings drained and
// the dispatcher flushed within the drain timeout.
func (p *Pipeline) Run(ctx context.Context) error {
	matchers := make([]*match.Matcher, p.opt.Workers)
	for i := range matchers {
		m, err := p.prog.NewMatcher()
		if err != nil {
			return err
		}
		matchers[i] = m
	}
	pool, err := ants.NewPool(p.opt.Workers, ants.WithPanicHandler(func(v any) {
		p.opt.Logger.Error("BUG: worker panicked", "panic", v)
	}))
	if err != nil {
		return fmt.Errorf("cannot start the worker pool: %w", err)
	}
	defer func() {
		if err := pool.ReleaseTimeout(5 * time.Second); err != nil {
			p.opt.Logger.Warn("shutdown: worker pool did not stop", "err", err)
		}
	}()

	var workers sync.WaitGroup
	for _, m := range matchers {
		workers.Add(1)
		w := &worker{p: p, m: m}
		w.onMatch = w.match
		if err := pool.Submit(func() { defer workers.Done(); w.run() }); err != nil {
			workers.Done()
			return fmt.Errorf("cannot start a worker: %w", err)
		}
	}

	// Sources stop with ctx; pushes into rings use their own context so
	// that blocks already read still get matched during shutdown.
	pushCtx, cancelPush := context.WithCancel(context.Background())
	defer cancelPush()
	for _, s := range p.snapshot() {
		p.start(ctx, pushCtx, s)
	}
	if p.opt.Discover != nil && !p.opt.Replay {
		var discover sync.WaitGroup
		discover.Add(1)
		go func() {
			defer discover.Done()
			p.opt.Discover(ctx, func(src ingest.Source, st *ingest.Stats) {
				s := p.newSourceRun(src, st)
				p.mu.Lock()
				p.sources = append(p.sources, s)
				p.mu.Unlock()
				p.opt.Logger.Info("new source", "source", src.Name())
				p.start(ctx, pushCtx, s)
			})
		}()
		// Discovery ends with ctx; only then is the set of sources final.
		discover.Wait()
	}
	p.srcs.Wait()
	drained := make(chan struct{})
	go func() { p.inflight.Wait(); close(drained) }()
	timer := time.NewTimer(p.opt.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		p.opt.Logger.Warn("shutdown: rings not drained in time", "timeout", p.opt.DrainTimeout)
		cancelPush()
	}
	p.queue.close()
	workers.Wait()
	flushCtx, cancel := context.WithTimeout(context.Background(), p.opt.DrainTimeout)
	defer cancel()
	if err := p.opt.Dispatcher.Close(flushCtx); err != nil {
		p.opt.Logger.Warn("shutdown: alerts not flushed in time", "err", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

func (p *Pipeline) emitter(ctx context.Context, s *sourceRun) ingest.Emitter {
	return ingest.EmitterFunc(func(b *ingest.Block) error {
		select {
		case p.budget <- struct{}{}:
		case <-ctx.Done():
			ingest.PutBlock(b)
			return ctx.Err()
		}
		p.inflight.Add(1)
		if err := s.ring.push(ctx, b); err != nil {
			p.inflight.Done()
			<-p.budget
			ingest.PutBlock(b)
			return err
		}
		if s.scheduled.CompareAndSwap(false, true) {
			p.queue.put(s)
		}
		return nil
	})
}

// worker owns one matcher and drains whichever ring the queue hands it.
type worker struct {
	p       *Pipeline
	m       *match.Matcher
	src     *sourceRun
	meta    ingest.Meta
	onMatch func(line []byte, rules match.Bits)
}

// blocksPerTurn bounds how many blocks a worker takes from one source
// before giving the others a turn.
const blocksPerTurn = 4

func (w *worker) run() {
	for {
		s := w.p.queue.take()
		if s == nil {
			return
		}
		w.src = s
		for range blocksPerTurn {
			b := s.ring.pop()
			if b == nil {
				break
			}
			w.meta = b.Meta
			if err := w.m.Scan(b.B, s.mask, w.onMatch); err != nil {
				w.p.opt.Logger.Error("BUG: matcher failed", "source", s.src.Name(), "err", err)
			}
			w.p.stats.Blocks.Add(1)
			ingest.PutBlock(b)
			<-w.p.budget
			w.p.inflight.Done()
		}
		if s.ring.len() > 0 {
			w.p.queue.put(s)
			continue
		}
		s.scheduled.Store(false)
		// A block pushed between the check and the store found the flag
		// still set and did not schedule: take the turn back for it.
		if s.ring.len() > 0 && s.scheduled.CompareAndSwap(false, true) {
			w.p.queue.put(s)
		}
	}
}

func (w *worker) match(line []byte, rules match.Bits) {
	p := w.p
	now := p.opt.Clock.Now()
	for wi, word := range rules {
		for word != 0 {
			i := wi<<6 + bits.TrailingZeros64(word)
			word &= word - 1
			r := &p.rules[i]
			r.matches.Add(1)
			fire, suppressed := r.state.offer(now)
			if !fire {
				continue
			}
			p.alert(r, w.src, w.meta, line, now, suppressed)
		}
	}
}

func (p *Pipeline) alert(r *ruleMeta, s *sourceRun, meta ingest.Meta, line []byte, now int64, suppressed uint64) {
	if len(line) > p.opt.MaxAlertLine {
		line = line[:p.opt.MaxAlertLine]
	}
	a := sink.Alert{
		Time:       time.Unix(0, now),
		Identity:   p.cfg.Identity.Name,
		Rule:       r.name,
		Source:     s.src.Name(),
		Line:       string(line),
		Suppressed: suppressed,
		Host:       meta.Host,
		App:        meta.App,
	}
	for _, name := range r.alerts {
		a.AlertName = name
		p.opt.Dispatcher.Enqueue(a)
		p.stats.Alerts.Add(1)
		r.fired.Add(1)
	}
}
