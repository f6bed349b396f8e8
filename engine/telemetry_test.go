package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tinywatcher/tinywatcher/ingest"
	"github.com/tinywatcher/tinywatcher/sink"
)

// knownRun runs two sources of known content through the pipeline: 30
// lines of which 4 match "db" (cooldown 1h: 1 alert, 3 suppressed) and 2
// match "oom" (cooldown 0: 2 alerts).
func knownRun(t *testing.T, disp *sink.Dispatcher) *Pipeline {
	t.Helper()
	var a, b strings.Builder
	for i := range 20 {
		switch i {
		case 3, 9, 15:
			fmt.Fprintf(&a, "ERROR OperationalError: timeout %d\n", i)
		default:
			fmt.Fprintf(&a, "INFO all good %d\n", i)
		}
	}
	for i := range 10 {
		switch i {
		case 2:
			b.WriteString("OperationalError: could not connect\n")
		case 5, 7:
			b.WriteString("kernel: Out of memory: Kill process\n")
		default:
			fmt.Fprintf(&b, "INFO fine %d\n", i)
		}
	}
	cfg := testConfig(testRules[:2], 0)
	cfg.Rules[0].Cooldown = 3600e9
	srcs := []ingest.Source{
		&memSource{name: "a.log", data: []byte(a.String()), stats: new(ingest.Stats)},
		&memSource{name: "b.log", data: []byte(b.String()), stats: new(ingest.Stats)},
	}
	stats := []*ingest.Stats{srcs[0].(*memSource).stats, srcs[1].(*memSource).stats}
	p, err := New(cfg, srcs, stats, Options{Workers: 2, Dispatcher: disp})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMetricsForKnownInput(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	dest := &countingDest{}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{})
	p := knownRun(t, disp)
	if _, err := p.RegisterMetrics(mp.Meter(meterName), disp); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var points []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				points = d.DataPoints
			case metricdata.Gauge[int64]:
				points = d.DataPoints
			}
			for _, dp := range points {
				var labels []string
				for _, kv := range dp.Attributes.ToSlice() {
					if kv.Key != "kind" {
						labels = append(labels, string(kv.Key)+"="+kv.Value.Emit())
					}
				}
				got[m.Name+"{"+strings.Join(labels, ",")+"}"] = dp.Value
			}
		}
	}
	want := map[string]int64{
		"tinywatcher.source.lines{source=a.log}":           20,
		"tinywatcher.source.lines{source=b.log}":           10,
		"tinywatcher.rule.matches{rule=db}":                4,
		"tinywatcher.rule.matches{rule=oom}":               2,
		"tinywatcher.rule.suppressed{rule=db}":             3,
		"tinywatcher.rule.suppressed{rule=oom}":            0,
		"tinywatcher.rule.alerts{rule=db}":                 1,
		"tinywatcher.rule.alerts{rule=oom}":                2,
		"tinywatcher.alerts.sent{destination=out}":         3,
		"tinywatcher.alerts.failed{destination=out}":       0,
		"tinywatcher.alerts.dropped{destination=out}":      0,
		"tinywatcher.alerts.queued{destination=out}":       0,
		"tinywatcher.ring.fill{source=a.log}":              0,
		"tinywatcher.source.oversized_lines{source=a.log}": 0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %d (present %v), want %d", k, g, ok, v)
		}
	}
	if got["tinywatcher.source.bytes{source=a.log}"] == 0 {
		t.Errorf("no bytes counted for a.log: %v", got)
	}
}

func TestDispatchSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	dest := &countingDest{}
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": dest}, sink.Options{TracerProvider: tp, BatchSize: 1})
	p := knownRun(t, disp)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want one per alert sent (3)", len(spans))
	}
	for _, s := range spans {
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if attrs["sink.destination"].AsString() != "out" || attrs["sink.attempt"].AsInt64() != 1 {
			t.Errorf("span %s has attributes %v", s.Name(), s.Attributes())
		}
	}
}

func TestPrometheusEndpoint(t *testing.T) {
	tel, err := StartTelemetry(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	disp := sink.NewDispatcher(map[string]sink.Destination{"out": &countingDest{}}, sink.Options{})
	p := knownRun(t, disp)
	if _, err := p.RegisterMetrics(tel.MeterProvider.Meter(meterName), disp); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + tel.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`tinywatcher_rule_matches_total{rule="db"} 4`,
		`tinywatcher_rule_suppressed_total{rule="db"} 3`,
		`tinywatcher_alerts_sent_total{destination="out"} 3`,
		`tinywatcher_source_lines_total{kind="file",source="a.log"} 20`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
