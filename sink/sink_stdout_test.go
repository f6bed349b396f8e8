package sink

import (
	"bytes"
	"context"
	"testing"

	"github.com/tinywatcher/tinywatcher/config"
)

func TestStdoutText(t *testing.T) {
	var b bytes.Buffer
	d := mustNew(t, config.Alert{Name: "console", Type: "stdout"}, DestOptions{Stdout: &b})
	if err := d.Send(context.Background(), []Alert{sampleAlert(), plainAlert()}); err != nil {
		t.Fatal(err)
	}
	want := `[2026-11-23T21:00:00Z] [web-1] [db_down] psycopg2.OperationalError: could not connect to <db> & "retry" (+41 suppressed)` + "\n" +
		"[2026-11-23T21:00:01Z] [web-1] [disk_full] no space left on device\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestStdoutJSON(t *testing.T) {
	var b bytes.Buffer
	d := mustNew(t, config.Alert{Name: "console", Type: "stdout", Format: "json"}, DestOptions{Stdout: &b})
	a := plainAlert()
	a.Source, a.Host, a.App = "syslog:514", "db-3", "postgres"
	if err := d.Send(context.Background(), []Alert{sampleAlert(), a}); err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-11-23T21:00:00Z","identity":"web-1","rule":"db_down","source":"/var/log/app.log","line":"psycopg2.OperationalError: could not connect to \u003cdb\u003e \u0026 \"retry\"","alert_name":"oncall","suppressed":41}` + "\n" +
		`{"time":"2026-11-23T21:00:01Z","identity":"web-1","rule":"disk_full","source":"syslog:514","line":"no space left on device","alert_name":"oncall","host":"db-3","app":"postgres"}` + "\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
