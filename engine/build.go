package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

// BuildSources makes one source per input of cfg. In replay mode only file
// inputs are read (from their beginning); the others are skipped with a
// log line, since a stream has no end to replay to.
func BuildSources(cfg *config.Config, opt ingest.Options, log *slog.Logger) ([]ingest.Source, []*ingest.Stats, error) {
	var srcs []ingest.Source
	var stats []*ingest.Stats
	add := func(s ingest.Source, st *ingest.Stats) {
		srcs = append(srcs, s)
		stats = append(stats, st)
	}
	// A glob that matches nothing yet was reported by config.Load; the
	// pipeline's GlobDiscovery follows its files once they appear.
	paths, _, err := ingest.ExpandGlobs(cfg.Inputs.Files)
	if err != nil {
		return nil, nil, err
	}
	for _, path := range paths {
		o := opt
		o.Stats = new(ingest.Stats)
		add(ingest.NewFile(path, o), o.Stats)
	}
	if opt.Replay {
		if n := len(cfg.Inputs.Containers) + len(cfg.Inputs.Streams); n > 0 {
			log.Info("replay reads files only; containers and streams are skipped", "skipped", n)
		}
		return srcs, stats, nil
	}
	if len(cfg.Inputs.Containers) > 0 {
		return nil, nil, fmt.Errorf("inputs.containers: the Docker source is not available in this build yet; remove the containers or follow their log files instead")
	}
	for _, sc := range cfg.Inputs.Streams {
		o := opt
		o.Stats = new(ingest.Stats)
		s, err := newStream(sc, o)
		if err != nil {
			return nil, nil, fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		add(s, o.Stats)
	}
	return srcs, stats, nil
}

// BuildDestinations makes one destination per entry under alerts.
func BuildDestinations(cfg *config.Config, opt sink.DestOptions) (map[string]sink.Destination, error) {
	if opt.Identity == "" {
		opt.Identity = cfg.Identity.Name
	}
	dests := make(map[string]sink.Destination, len(cfg.Alerts))
	for name, a := range cfg.Alerts {
		d, err := sink.New(a, opt)
		if err != nil {
			return nil, fmt.Errorf("alert %s: %w", name, err)
		}
		dests[name] = d
	}
	return dests, nil
}

// GlobDiscovery is an Options.Discover hook that follows the files created
// while running that match a glob of inputs.files, reading each from its
// beginning (it is new). known are the paths followed from the start.
func GlobDiscovery(cfg *config.Config, known []string, opt ingest.Options, interval time.Duration) func(context.Context, func(ingest.Source, *ingest.Stats)) {
	return func(ctx context.Context, add func(ingest.Source, *ingest.Stats)) {
		w := ingest.NewGlobWatcher(cfg.Inputs.Files, known)
		_ = w.Run(ctx, interval, func(path string) {
			o := opt
			o.FromStart = true
			o.Stats = new(ingest.Stats)
			add(ingest.NewFile(path, o), o.Stats)
		})
	}
}
