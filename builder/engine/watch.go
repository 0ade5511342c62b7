package engine

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// statusWatch reads BuildKit's status stream for what the error of a
// failed build leaves out: when the build last made progress (a push that
// stalls is stopped by it), the last lines each step wrote on stderr (an
// installer's own reason for failing), and which step failed.
type statusWatch struct {
	mu       sync.Mutex
	last     time.Time
	state    map[string]string
	names    map[digest.Digest]string
	stderr   map[digest.Digest]*tail
	failed   digest.Digest
	failedAt time.Time
}

// tailLines is how many of a step's last stderr lines are kept.
const tailLines = 8

// tail keeps the last complete lines of a stream, and the partial one.
type tail struct {
	lines   []string
	partial []byte
}

func (t *tail) write(b []byte) {
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
		if line == "" {
			continue
		}
		t.lines = append(t.lines, line)
		if len(t.lines) > tailLines {
			t.lines = t.lines[1:]
		}
	}
	if len(t.partial) > 4096 { // a line without end: keep its start
		t.partial = t.partial[:4096]
	}
}

func (t *tail) all() []string {
	out := append([]string(nil), t.lines...)
	if p := strings.TrimSpace(string(t.partial)); p != "" {
		out = append(out, p)
	}
	return out
}

func newStatusWatch() *statusWatch {
	return &statusWatch{last: time.Now(), state: map[string]string{}, names: map[digest.Digest]string{}, stderr: map[digest.Digest]*tail{}}
}

// observe takes one status update. Progress is a change: a step started,
// finished or failed, bytes moved, a log line; an update repeating what
// was known (BuildKit resends states) is not.
func (w *statusWatch) observe(s *client.SolveStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	moved := false
	set := func(k, v string) {
		if w.state[k] != v {
			w.state[k] = v
			moved = true
		}
	}
	for _, v := range s.Vertexes {
		w.names[v.Digest] = v.Name
		set("v"+v.Digest.String(), fmt.Sprint(v.Started != nil, v.Completed != nil, v.Cached, v.Error))
		if v.Error != "" && w.failed == "" {
			w.failed, w.failedAt = v.Digest, time.Now()
		}
	}
	for _, st := range s.Statuses {
		set("s"+st.Vertex.String()+st.ID, fmt.Sprint(st.Current, st.Total, st.Completed != nil))
	}
	for _, l := range s.Logs {
		moved = true
		if l.Stream != 2 {
			continue
		}
		t := w.stderr[l.Vertex]
		if t == nil {
			t = &tail{}
			w.stderr[l.Vertex] = t
		}
		t.write(l.Data)
	}
	if moved {
		w.last = time.Now()
	}
}

// idle is how long the stream has made no progress.
func (w *statusWatch) idle() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Since(w.last)
}

// failure returns the name of the step that failed first and the line it
// last wrote on stderr that explains it: the last "envbuild installer:"
// line (the installer's one-line reason), else the last line.
func (w *statusWatch) failure() (name, reason string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed == "" {
		return "", ""
	}
	name = w.names[w.failed]
	t := w.stderr[w.failed]
	if t == nil {
		return name, ""
	}
	lines := t.all()
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "envbuild installer:") {
			return name, lines[i]
		}
	}
	if len(lines) > 0 {
		return name, lines[len(lines)-1]
	}
	return name, ""
}
