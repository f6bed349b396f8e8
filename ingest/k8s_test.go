package ingest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func TestK8sIsPodLog(t *testing.T) {
	f := func(path string, want bool) {
		t.Helper()
		if got := k8sIsPodLog(path); got != want {
			t.Fatalf("k8sIsPodLog(%q) = %v, want %v", path, got, want)
		}
	}
	f("/api/v1/namespaces/default/pods/my-pod/log", true)
	f("/api/v1/namespaces/default/pods/my-pod/log/", true)
	f("/api/v1/namespaces/default/pods/my-pod", false)
	f("/api/v1/namespaces/default/pods//log", false)
	f("/api/v1/namespaces//pods/p/log", false)
	f("/api/v1/namespaces/default/services/s/log", false)
	f("/api/v1/namespaces/default/pods/p/log/extra", false)
	f("/prefix/api/v1/namespaces/default/pods/p/log", false)
	f("/logs", false)
}

func TestK8sQuery(t *testing.T) {
	u, _ := url.Parse("https://k8s:6443/api/v1/namespaces/default/pods/p/log?follow=true&tailLines=100&container=app")
	var k k8sTracker
	if q := k.query(u); q != "container=app&follow=true&tailLines=100&timestamps=true" {
		t.Fatalf("first query %q", q)
	}
	k.line([]byte("2024-05-06T07:08:09.123456789Z hello"))
	if q := k.query(u); q != "container=app&follow=true&sinceTime=2024-05-06T07%3A08%3A09Z&timestamps=true" {
		t.Fatalf("resume query %q", q)
	}
	u, _ = url.Parse("https://k8s/api/v1/namespaces/default/pods/p/log?sinceSeconds=60")
	if q := k.query(u); strings.Contains(q, "sinceSeconds") {
		t.Fatalf("resume query %q keeps sinceSeconds", q)
	}
}

func TestK8sTracker(t *testing.T) {
	var k k8sTracker
	f := func(in, want string) {
		t.Helper()
		msg, keep := k.line([]byte(in))
		got := "DROP"
		if keep {
			got = string(msg)
		}
		if got != want {
			t.Fatalf("line(%q) = %q, want %q", in, got, want)
		}
	}
	f("2024-05-06T07:08:09.1Z a", "a")
	f("2024-05-06T07:08:09.2Z b", "b")
	f("2024-05-06T07:08:09.2Z c", "c")
	f("2024-05-06T07:08:09.2Z", "")
	f("no timestamp here", "no timestamp here")
	f("2024-05-06T07:08:09.2+02:00 offset zone", "offset zone")
	f("2024-05-06T07:08:09.2Z d", "d")
	if string(k.last) != "2024-05-06T07:08:09.2Z" || k.count != 1 {
		t.Fatalf("last %q count %d", k.last, k.count)
	}
	f("2024-05-06T07:08:09.2Z e", "e")
	// Reconnect: sinceTime is cut to the second, so everything from :09 is
	// sent again.
	k.reconnect()
	f("2024-05-06T07:08:09.1Z a", "DROP")
	f("2024-05-06T07:08:09.2Z d", "DROP")
	f("interleaved without timestamp", "interleaved without timestamp")
	f("2024-05-06T07:08:09.2Z e", "DROP")
	f("2024-05-06T07:08:09.2Z f", "f") // a third line at the last timestamp is new
	f("2024-05-06T07:08:09.3Z g", "g")
	f("2024-05-06T07:08:09.2Z late", "late") // past the resume point, order is the server's
	if k.dropped != 3 {
		t.Fatalf("dropped %d", k.dropped)
	}
}

// k8sTestLog is a pod log: timestamps with several lines on the same one,
// several in one second, across many seconds.
func k8sTestLog(n int) (ts []time.Time, msgs []string) {
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for i := 0; i < n; i++ {
		// Three lines per timestamp, timestamps 250ms apart.
		ts = append(ts, base.Add(time.Duration(i/3)*250*time.Millisecond))
		msgs = append(msgs, fmt.Sprintf("msg %d", i))
	}
	return ts, msgs
}

// k8sTestBody is what a kubelet sends for a follow request with
// timestamps=true and sinceTime=since; in phase 1 it stops half way into
// line cut, as a server killed then would.
func k8sTestBody(ts []time.Time, msgs []string, since time.Time, phase, cut int) []string {
	var out []string
	for i := range msgs {
		if ts[i].Before(since) {
			continue
		}
		line := ts[i].Format(time.RFC3339Nano) + " " + msgs[i] + "\n"
		if phase == 1 && i == cut {
			return append(out, line[:len(line)/2])
		}
		out = append(out, line)
	}
	return out
}

// k8sTestCheckQuery checks a pod log request and returns its sinceTime.
func k8sTestCheckQuery(t *testing.T, q url.Values) time.Time {
	if q.Get("timestamps") != "true" || q.Get("follow") != "true" {
		t.Errorf("query %v", q)
	}
	var since time.Time
	if s := q.Get("sinceTime"); s != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("sinceTime %q: %v", s, err)
		}
		if q.Has("tailLines") {
			t.Errorf("tailLines %q with sinceTime", q.Get("tailLines"))
		}
	}
	return since
}

// TestK8sPodLogResume: a fake API server honouring timestamps and
// sinceTime as the kubelet does is killed after a line in the middle of a
// group of lines sharing one timestamp, with half the next line sent; the
// source resumes with no gap and no duplicate.
func TestK8sPodLogResume(t *testing.T) {
	streamLeakCheck(t)
	const n = 300
	const cut = 151 // lines sent before the kill: 151 = 50*3+1, inside a group
	ts, msgs := k8sTestLog(n)
	queries := make(chan url.Values, 8)
	handler := func(phase int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			queries <- q
			since := k8sTestCheckQuery(t, q)
			w.Header().Set("Content-Type", "text/plain")
			for _, line := range k8sTestBody(ts, msgs, since, phase, cut) {
				if !httpTestFlush(w, line) {
					return
				}
			}
			<-r.Context().Done()
		}
	}
	srv := newStreamTestServer(t, handler(1))
	h, _ := newHTTPTestSource(t, streamTestCfg("http", srv.url("http", "/api/v1/namespaces/default/pods/web-0/log?follow=true&tailLines=1000")))
	if !h.k8s {
		t.Fatal("pod log URL not recognised")
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, h, e)
	streamWaitLines(t, e, cut)
	srv.kill()
	srv.start(handler(2))
	got := streamWaitLines(t, e, n)
	stop()
	srv.kill()
	if strings.Join(got, "|") != strings.Join(msgs, "|") {
		t.Fatalf("got %d lines, want %d:\n%q", len(got), n, got)
	}
	<-queries
	q := <-queries
	if want := ts[cut-1].Truncate(time.Second).Format(time.RFC3339); q.Get("sinceTime") != want {
		t.Fatalf("sinceTime %q, want %q", q.Get("sinceTime"), want)
	}
}

// TestK8sPodLogWebSocketResume: the spec's example reads a pod log over a
// WebSocket, where the API server cuts the body into binary messages
// anywhere; lines are whole and resumed as over HTTP.
func TestK8sPodLogWebSocketResume(t *testing.T) {
	streamLeakCheck(t)
	const n = 300
	const cut = 151
	ts, msgs := k8sTestLog(n)
	queries := make(chan url.Values, 8)
	var srv *streamTestServer
	handler := func(phase int) http.HandlerFunc {
		return wsTestHandler(&srv, func(c *websocket.Conn, r *http.Request) {
			q := r.URL.Query()
			queries <- q
			since := k8sTestCheckQuery(t, q)
			done := wsTestDrainAsync(c)
			body := strings.Join(k8sTestBody(ts, msgs, since, phase, cut), "")
			for len(body) > 0 {
				k := min(37, len(body))
				if err := c.WriteMessage(websocket.BinaryMessage, []byte(body[:k])); err != nil {
					return
				}
				body = body[k:]
			}
			<-done
		})
	}
	srv = newStreamTestServer(t, handler(1))
	w := newWSTestSource(t, streamTestCfg("websocket", srv.url("ws", "/api/v1/namespaces/default/pods/web-0/log?follow=true")))
	if !w.k8s {
		t.Fatal("pod log URL not recognised")
	}
	e := newStreamTestEmitter()
	stop := streamTestRun(t, w, e)
	streamWaitLines(t, e, cut)
	srv.kill()
	srv.start(handler(2))
	got := streamWaitLines(t, e, n)
	stop()
	srv.kill()
	if strings.Join(got, "|") != strings.Join(msgs, "|") {
		t.Fatalf("got %d lines, want %d:\n%q", len(got), n, got)
	}
	<-queries
	if q := <-queries; q.Get("sinceTime") != ts[cut-1].Truncate(time.Second).Format(time.RFC3339) {
		t.Fatalf("sinceTime %q", q.Get("sinceTime"))
	}
}

// TestK8sResumeProperty: for random logs (runs of equal timestamps,
// several per second) cut at random places, any number of times, the
// lines taken through reconnects with sinceTime are exactly the log.
func TestK8sResumeProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	u, _ := url.Parse("https://k8s/api/v1/namespaces/d/pods/p/log?follow=true")
	for iter := 0; iter < 2000; iter++ {
		n := 1 + rng.IntN(60)
		ts := make([]time.Time, n)
		cur := base
		for i := range ts {
			if i > 0 && rng.IntN(3) > 0 {
				cur = cur.Add(time.Duration(rng.IntN(700)) * time.Millisecond)
			}
			ts[i] = cur
		}
		var k k8sTracker
		var got []string
		pos := 0 // the kubelet's stream: lines from since, cut at random
		for round := 0; pos < n && round < 10; round++ {
			q, _ := url.ParseQuery(k.query(u))
			var since time.Time
			if s := q.Get("sinceTime"); s != "" {
				since, _ = time.Parse(time.RFC3339, s)
			}
			k.reconnect()
			start := 0
			for start < n && ts[start].Before(since) {
				start++
			}
			stopAt := n
			if round < 9 {
				stopAt = start + rng.IntN(n-start+1)
			}
			for i := start; i < stopAt; i++ {
				msg, keep := k.line([]byte(ts[i].Format(time.RFC3339Nano) + " m" + strconv.Itoa(i)))
				if keep {
					got = append(got, string(msg))
				}
			}
			pos = max(pos, stopAt)
		}
		var want []string
		for i := 0; i < pos; i++ {
			want = append(want, "m"+strconv.Itoa(i))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("iteration %d: got %v, want %v", iter, got, want)
		}
	}
}
