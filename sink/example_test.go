package sink_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tinywatcher/tinywatcher/config"
	"github.com/tinywatcher/tinywatcher/sink"
)

func ExampleDispatcher() {
	console, err := sink.New(config.Alert{Name: "console", Type: "stdout"}, sink.DestOptions{Stdout: os.Stdout})
	if err != nil {
		panic(err)
	}
	d := sink.NewDispatcher(map[string]sink.Destination{"console": console}, sink.Options{BatchSize: 10})
	d.Enqueue(sink.Alert{
		Time: time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC), Identity: "web-1", Rule: "db_down",
		Line: "OperationalError: could not connect", AlertName: "console", Suppressed: 3,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Close(ctx) // flushes
	st := d.Stats()["console"]
	fmt.Println("sent", st.Sent, "dropped", st.Dropped)
	// Output:
	// [2026-11-23T22:00:00Z] [web-1] [db_down] OperationalError: could not connect (+3 suppressed)
	// sent 1 dropped 0
}
