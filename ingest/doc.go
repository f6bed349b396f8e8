// Package ingest reads lines from files, containers and network streams and
// hands them on as pooled blocks of whole lines.
//
// Every Source owns a Framer that cuts its byte stream (or its messages)
// into Blocks, carrying a partial last line into the next block and
// bounding line length: a line longer than the bound is kept as its first
// MaxLine bytes (so rules still see its start), the rest is skipped and
// counted. A Block handed to Emitter.Emit belongs to the receiver, which
// returns it with PutBlock once scanned; the source must not touch it
// again. One file per source kind: source_file.go, source_websocket.go, …
package ingest
