package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"time"
)

// Stdout writes alerts as lines, either
// `[RFC3339 time] [identity] [rule] line` or one JSON object per alert.
type Stdout struct {
	mu   sync.Mutex
	w    *bufio.Writer
	json bool
}

// NewStdout writes to w; format is "text" (or "") or "json".
func NewStdout(w io.Writer, format string) *Stdout {
	return &Stdout{w: bufio.NewWriter(w), json: format == "json"}
}

type stdoutJSON struct {
	Time       string `json:"time"`
	Identity   string `json:"identity"`
	Rule       string `json:"rule"`
	Source     string `json:"source"`
	Line       string `json:"line"`
	AlertName  string `json:"alert_name"`
	Suppressed uint64 `json:"suppressed,omitempty"`
	Host       string `json:"host,omitempty"`
	App        string `json:"app,omitempty"`
}

// Send writes the batch and flushes it.
func (s *Stdout) Send(_ context.Context, batch []Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range batch {
		a := &batch[i]
		ts := a.Time.UTC().Format(time.RFC3339)
		if s.json {
			b, err := json.Marshal(stdoutJSON{ts, a.Identity, a.Rule, a.Source, a.Line, a.AlertName, a.Suppressed, a.Host, a.App})
			if err != nil {
				return &Permanent{err}
			}
			s.w.Write(b)
			s.w.WriteByte('\n')
			continue
		}
		s.w.WriteString("[" + ts + "] [" + a.Identity + "] [" + a.Rule + "] " + a.Line)
		if a.Suppressed > 0 {
			s.w.WriteString(" (+" + strconv.FormatUint(a.Suppressed, 10) + " suppressed)")
		}
		s.w.WriteByte('\n')
	}
	return s.w.Flush()
}
