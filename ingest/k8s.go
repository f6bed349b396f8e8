package ingest

import (
	"bytes"
	"net/url"
	"strings"
	"time"
)

// Kubernetes pod logs (GET /api/v1/namespaces/NS/pods/NAME/log?follow=true)
// are a plain chunked HTTP body, so they need no protocol of their own; what
// they need is resuming without gaps or duplicates. An http stream whose URL
// path is a pod log:
//
//   - asks for timestamps=true: Kubernetes then starts every line with its
//     RFC 3339 timestamp (nanoseconds) and a space, which the source strips
//     before framing, remembering the last timestamp and how many lines
//     carried exactly it;
//   - on reconnect asks for sinceTime=<last timestamp, cut to the second,
//     as the API's sinceTime has second precision> (dropping any
//     sinceSeconds and tailLines of the URL, which would conflict or cut),
//     then drops the lines older than the last one seen, and of the lines
//     with exactly that timestamp as many as were seen before.
//
// Lines without a timestamp pass through unchanged. The same applies to a
// websocket stream to a pod log URL (the spec's example): without a
// subprotocol the API server sends the log body as binary messages cut
// anywhere, which the WebSocket source reads as one byte stream. The
// channel subprotocols (v4.channel.k8s.io, used by exec and attach) are
// not requested and not supported.

// k8sIsPodLog reports whether path is /api/v1/namespaces/*/pods/*/log.
func k8sIsPodLog(path string) bool {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(path, "/"), "/api/v1/namespaces/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	return len(parts) == 4 && parts[0] != "" && parts[1] == "pods" && parts[2] != "" && parts[3] == "log"
}

// k8sTracker follows the timestamps of a pod log across connections. Not
// safe for concurrent use.
type k8sTracker struct {
	last  []byte // the last timestamp taken, as Kubernetes wrote it
	count int    // lines taken with exactly that timestamp

	// Set from reconnect until a line newer than lastTime arrives.
	resume   bool
	lastTime time.Time
	skip     int // lines at lastTime still to drop
	dropped  int // lines dropped as already seen (for tests and logs)
}

// query returns the query of u for the next connection.
func (k *k8sTracker) query(u *url.URL) string {
	q := u.Query()
	q.Set("timestamps", "true")
	if len(k.last) > 0 {
		if t, err := time.Parse(time.RFC3339Nano, string(k.last)); err == nil {
			q.Del("sinceSeconds")
			q.Del("tailLines")
			q.Set("sinceTime", t.UTC().Truncate(time.Second).Format(time.RFC3339))
		}
	}
	return q.Encode()
}

// reconnect prepares the dedupe of a new connection.
func (k *k8sTracker) reconnect() {
	k.resume = false
	if len(k.last) == 0 {
		return
	}
	t, err := time.Parse(time.RFC3339Nano, string(k.last))
	if err != nil {
		return
	}
	k.resume, k.lastTime, k.skip = true, t, k.count
}

// line takes one line as Kubernetes sent it and returns the log line
// without its timestamp, and whether to keep it.
func (k *k8sTracker) line(l []byte) ([]byte, bool) {
	sp := bytes.IndexByte(l, ' ')
	if sp < 0 {
		sp = len(l)
	}
	ts := l[:sp]
	if !k8sLooksLikeTimestamp(ts) {
		return l, true
	}
	msg := l[min(sp+1, len(l)):]
	if k.resume {
		t, err := time.Parse(time.RFC3339Nano, string(ts))
		if err != nil {
			return l, true
		}
		switch {
		case t.Before(k.lastTime):
			k.dropped++
			return nil, false
		case t.Equal(k.lastTime) && k.skip > 0:
			k.skip--
			k.dropped++
			return nil, false
		case t.After(k.lastTime):
			k.resume = false
		}
	}
	if bytes.Equal(ts, k.last) {
		k.count++
	} else {
		k.last = append(k.last[:0], ts...)
		k.count = 1
	}
	return msg, true
}

// k8sLooksLikeTimestamp is a cheap check of the shape
// 2006-01-02T15:04:05[.999999999](Z|±07:00).
func k8sLooksLikeTimestamp(b []byte) bool {
	if len(b) < 20 || len(b) > 35 {
		return false
	}
	return b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' &&
		b[0] >= '0' && b[0] <= '9' && (b[len(b)-1] == 'Z' || b[len(b)-3] == ':')
}
