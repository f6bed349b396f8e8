// Package sink delivers alerts to their destinations.
//
// A Dispatcher owns one bounded queue and one sender goroutine per
// destination, so a slow or dead destination never blocks matching or the
// other destinations: Enqueue never blocks, and alerts that do not fit are
// coalesced into one summary alert per rule. Senders batch (BatchSize,
// BatchInterval), retry with capped exponential backoff and full jitter,
// honour Retry-After, give up on Permanent errors, and count everything
// (Dispatcher.Stats, Options.OnSend, optional OpenTelemetry spans).
//
// Shortest use:
//
//	dests := map[string]sink.Destination{}
//	for name, a := range cfg.Alerts {
//		d, err := sink.New(a, sink.DestOptions{Identity: cfg.Identity.Name})
//		if err != nil { return err }
//		dests[name] = d
//	}
//	disp := sink.NewDispatcher(dests, sink.Options{Logger: log})
//	disp.Enqueue(alert) // from any goroutine
//	defer disp.Close(ctxWithDeadline)
//
// One file per destination: sink_stdout.go, sink_slack.go, sink_discord.go,
// sink_telegram.go, sink_pagerduty.go, sink_ntfy.go, sink_webhook.go,
// sink_email.go, sink_sendgrid.go; http.go holds the shared HTTP status
// handling and text.go the truncation to each service's limits. See
// README.md for how to add one.
package sink
