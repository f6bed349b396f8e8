package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

// meterName scopes every instrument of the pipeline.
const meterName = "github.com/tinywatcher/tinywatcher/engine"

// RegisterMetrics reports the pipeline's counters through meter as
// observable instruments: they are read from the atomics the hot path
// already keeps, only when a reader collects, so metrics cost the
// matcher nothing. disp may be nil.
func (p *Pipeline) RegisterMetrics(meter metric.Meter, disp *sink.Dispatcher) (metric.Registration, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	lines := counter("tinywatcher.source.lines", "{line}", "Lines read per source.")
	bytes := counter("tinywatcher.source.bytes", "By", "Bytes read per source.")
	oversized := counter("tinywatcher.source.oversized_lines", "{line}", "Lines longer than the line bound, matched on their first bytes.")
	invalid := counter("tinywatcher.source.invalid", "{event}", "Malformed input per source (bad frames, bad syslog headers).")
	reconnects := counter("tinywatcher.source.reconnects", "{event}", "Reconnects of stream sources.")
	ringFill := gauge("tinywatcher.ring.fill", "{block}", "Blocks waiting in each source's ring.")
	blocks := counter("tinywatcher.blocks.scanned", "{block}", "Blocks scanned by the workers.")
	matches := counter("tinywatcher.rule.matches", "{match}", "Matches per rule, alerted or not.")
	suppressed := counter("tinywatcher.rule.suppressed", "{match}", "Matches held back by a rule's cooldown or threshold.")
	fired := counter("tinywatcher.rule.alerts", "{alert}", "Alerts per rule (one per destination).")
	sent := counter("tinywatcher.alerts.sent", "{alert}", "Alerts a destination accepted.")
	failed := counter("tinywatcher.alerts.failed", "{alert}", "Alerts given up after retries or a permanent error.")
	dropped := counter("tinywatcher.alerts.dropped", "{alert}", "Alerts coalesced because a destination's queue was full.")
	retried := counter("tinywatcher.alerts.retried", "{attempt}", "Send attempts that were retried.")
	queued := gauge("tinywatcher.alerts.queued", "{alert}", "Alerts waiting in a destination's queue.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Attribute sets are built once: a callback must not allocate them per
	// collection for every source and rule.
	ruleAttrs := make([]metric.ObserveOption, len(p.rules))
	for i := range p.rules {
		ruleAttrs[i] = metric.WithAttributes(attribute.String("rule", p.rules[i].name))
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, s := range p.snapshot() {
			a := s.attrs
			o.ObserveInt64(lines, int64(s.stats.Lines.Load()), a)
			o.ObserveInt64(bytes, int64(s.stats.Bytes.Load()), a)
			o.ObserveInt64(oversized, int64(s.stats.Oversized.Load()), a)
			o.ObserveInt64(invalid, int64(s.stats.Invalid.Load()), a)
			o.ObserveInt64(reconnects, int64(s.stats.Reconnects.Load()), a)
			o.ObserveInt64(ringFill, int64(s.ring.len()), a)
		}
		o.ObserveInt64(blocks, int64(p.stats.Blocks.Load()))
		for i := range p.rules {
			r := &p.rules[i]
			o.ObserveInt64(matches, int64(r.matches.Load()), ruleAttrs[i])
			o.ObserveInt64(suppressed, int64(r.state.suppressedTotal.Load()), ruleAttrs[i])
			o.ObserveInt64(fired, int64(r.fired.Load()), ruleAttrs[i])
		}
		if disp != nil {
			for name, st := range disp.Stats() {
				a := metric.WithAttributes(attribute.String("destination", name))
				o.ObserveInt64(sent, int64(st.Sent), a)
				o.ObserveInt64(failed, int64(st.Failed), a)
				o.ObserveInt64(dropped, int64(st.Dropped), a)
				o.ObserveInt64(retried, int64(st.Retried), a)
				o.ObserveInt64(queued, int64(st.QueueLen), a)
			}
		}
		return nil
	}, lines, bytes, oversized, invalid, reconnects, ringFill, blocks, matches, suppressed, fired, sent, failed, dropped, retried, queued)
}

// Telemetry is the process's OpenTelemetry setup: a Prometheus endpoint for
// metrics, and OTLP/HTTP trace export when the standard
// OTEL_EXPORTER_OTLP_* variables name an endpoint.
type Telemetry struct {
	MeterProvider  *sdkmetric.MeterProvider
	TracerProvider trace.TracerProvider
	// Addr is the metrics listener's address once serving ("" if none).
	Addr string

	tracer   *sdktrace.TracerProvider
	server   *http.Server
	serveErr chan error
}

// StartTelemetry serves /metrics on metricsAddr (none if "") and sets up
// trace export from the environment.
func StartTelemetry(ctx context.Context, metricsAddr string) (*Telemetry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("cannot create the prometheus exporter: %w", err)
	}
	t := &Telemetry{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)), TracerProvider: noop.NewTracerProvider()}
	if otlpConfigured() {
		te, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("cannot set up OTLP trace export: %w", err)
		}
		t.tracer = sdktrace.NewTracerProvider(sdktrace.WithBatcher(te))
		t.TracerProvider = t.tracer
	}
	if metricsAddr != "" {
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("cannot listen on --metrics-addr %s: %w", metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		t.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		t.Addr = ln.Addr().String()
		t.serveErr = make(chan error, 1)
		go func() { t.serveErr <- t.server.Serve(ln) }()
	}
	return t, nil
}

func otlpConfigured() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Shutdown stops the metrics server and flushes pending spans.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	if t.server != nil {
		errs = append(errs, t.server.Shutdown(ctx))
	}
	if t.tracer != nil {
		errs = append(errs, t.tracer.Shutdown(ctx))
	}
	errs = append(errs, t.MeterProvider.Shutdown(ctx))
	return errors.Join(errs...)
}

// ConnectionSpans returns an ingest.Options.OnConnection hook that records
// one span per connection attempt of a stream source, from the attempt to
// the connection's end, so a trace shows when a stream was down and why.
func ConnectionSpans(tp trace.TracerProvider) func(ingest.Connection) {
	tracer := tp.Tracer(meterName)
	return func(c ingest.Connection) {
		_, span := tracer.Start(context.Background(), "source.connection",
			trace.WithTimestamp(c.Start),
			trace.WithAttributes(
				attribute.String("source", c.Source),
				attribute.Bool("source.connected", !c.Connected.IsZero()),
			))
		if !c.Connected.IsZero() {
			span.AddEvent("connected", trace.WithTimestamp(c.Connected))
		}
		if c.Err != nil {
			span.RecordError(c.Err, trace.WithTimestamp(c.End))
			span.SetStatus(codes.Error, c.Err.Error())
		}
		span.End(trace.WithTimestamp(c.End))
	}
}
