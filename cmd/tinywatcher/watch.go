package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/engine"
	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

type watchFlags struct {
	config      string
	noResources bool
	replay      bool
	metricsAddr string
}

func newWatchCommand(g *globalFlags) *cobra.Command {
	f := &watchFlags{}
	cmd := &cobra.Command{
		Use:   "watch --config FILE",
		Short: "Watch the configured inputs and send alerts until stopped",
		Long: `Watch follows every configured input and sends alerts until SIGINT or SIGTERM.

With --replay it reads the file inputs from their beginning instead, and exits
once they are consumed and every alert is flushed (batch mode).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWatch(ctx, g, f)
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", "", "configuration file (required)")
	cmd.Flags().BoolVar(&f.noResources, "no-resources", false, "do not run the CPU, memory and disk checks")
	cmd.Flags().BoolVar(&f.replay, "replay", false, "read file inputs from the beginning and exit when done")
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. :9090), under /metrics")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runWatch(ctx context.Context, g *globalFlags, f *watchFlags) error {
	log := g.logger(nil)
	cfg, err := config.Load(f.config)
	if err != nil {
		return configError(err)
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	warnNotRunYet(log, cfg, f.noResources)
	dests, err := engine.BuildDestinations(cfg, sink.DestOptions{Stdout: os.Stdout, UserAgent: "TinyWatcher/" + version})
	if err != nil {
		return configError(err)
	}
	tel, err := engine.StartTelemetry(ctx, f.metricsAddr)
	if err != nil {
		return runtimeError(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry shutdown", "err", err)
		}
	}()
	srcOpt := ingest.Options{
		MaxLine:      cfg.Settings.MaxLineBytes,
		Replay:       f.replay,
		Logger:       log,
		OnConnection: engine.ConnectionSpans(tel.TracerProvider),
	}
	srcs, stats, err := engine.BuildSources(cfg, srcOpt, log)
	if err != nil {
		return configError(err)
	}
	if len(srcs) == 0 && (f.replay || !hasGlob(cfg.Inputs.Files)) {
		return configError(errors.New("no inputs to watch: add inputs.files, inputs.containers or inputs.streams"))
	}
	disp := sink.NewDispatcher(dests, sink.Options{Logger: log, TracerProvider: tel.TracerProvider})
	var known []string
	for _, s := range srcs {
		if s.Kind() == ingest.KindFile {
			known = append(known, s.Name())
		}
	}
	p, err := engine.New(cfg, srcs, stats, engine.Options{
		Logger:     log,
		Replay:     f.replay,
		Dispatcher: disp,
		Discover:   engine.GlobDiscovery(cfg, known, srcOpt, 0),
	})
	if err != nil {
		_ = disp.Close(context.Background())
		return configError(err)
	}
	if _, err := p.RegisterMetrics(tel.MeterProvider.Meter("tinywatcher"), disp); err != nil {
		return runtimeError(fmt.Errorf("cannot register metrics: %w", err))
	}
	if tel.Addr != "" {
		log.Info("serving metrics", "url", "http://"+tel.Addr+"/metrics")
	}
	log.Info("watching", "sources", len(srcs), "rules", len(cfg.Rules), "alerts", len(cfg.Alerts))
	if err := p.Run(ctx); err != nil {
		return runtimeError(err)
	}
	return nil
}

// hasGlob reports whether some inputs.files entry is a glob, which may
// match files created later.
func hasGlob(files []string) bool {
	for _, f := range files {
		if strings.ContainsAny(f, "*?[") {
			return true
		}
	}
	return false
}

// warnNotRunYet says which configured sections this version validates but
// does not run yet, so nobody believes they are being watched.
func warnNotRunYet(log *slog.Logger, cfg *config.Config, noResources bool) {
	if cfg.Resources != nil && !noResources {
		log.Warn("resources: CPU, memory and disk checks are validated but not run by this version yet")
	}
	if len(cfg.SystemChecks) > 0 {
		log.Warn("system_checks are validated but not run by this version yet", "checks", len(cfg.SystemChecks))
	}
	if cfg.Heartbeat != nil {
		log.Warn("heartbeat is validated but not sent by this version yet", "url", cfg.Heartbeat.URL)
	}
}
