// Package sink delivers alerts to their destinations.
//
// A Dispatcher owns one bounded queue and one sender goroutine per
// destination, so a slow or dead destination never blocks matching or the
// other destinations: Enqueue never blocks. One file per destination:
// sink_stdout.go, sink_webhook.go, …
package sink
