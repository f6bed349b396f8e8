package bench

import (
	"bytes"
	"fmt"
	"time"
)

// incidentKinds are the incidents the corpus plants. Each writes one or
// more lines, at least one of which the default rules catch (checked by
// TestIncidentsMatchDefaultRules); stack frames and context lines of an
// incident may match nothing, as in real logs.
var incidentKinds = []struct {
	kind   string
	weight int
	fn     func(g *gen, b []byte) ([]byte, int)
}{
	{"loghub", 20, (*gen).loghubIncident},
	{"nginx-5xx", 14, (*gen).nginx5xx},
	{"nginx-upstream", 6, (*gen).nginxUpstream},
	{"java-exception", 8, (*gen).javaException},
	{"python-traceback", 8, (*gen).pythonTraceback},
	{"go-panic", 4, (*gen).goPanic},
	{"oom", 4, (*gen).oomKill},
	{"ssh-auth", 8, (*gen).sshAuth},
	{"k8s", 6, (*gen).k8sEvent},
	{"logfmt", 6, (*gen).logfmtIncident},
	{"json", 6, (*gen).jsonIncident},
	{"disk", 3, (*gen).diskIncident},
	{"db", 4, (*gen).dbIncident},
}

func (g *gen) incident(b []byte) ([]byte, string, int) {
	total := 0
	for _, k := range incidentKinds {
		if k.kind == "loghub" && (g.pools == nil || len(g.pools.incident) == 0) {
			continue
		}
		total += k.weight
	}
	n := g.r.IntN(total)
	for _, k := range incidentKinds {
		if k.kind == "loghub" && (g.pools == nil || len(g.pools.incident) == 0) {
			continue
		}
		if n < k.weight {
			b, lines := k.fn(g, b)
			return b, k.kind, lines
		}
		n -= k.weight
	}
	panic("BUG: incident weights do not add up")
}

func (g *gen) loghubIncident(b []byte) ([]byte, int) {
	b = append(b, pick(g, g.pools.incident)...)
	return append(b, '\n'), 1
}

func (g *gen) nginx5xx(b []byte) ([]byte, int) {
	return g.nginxAccessStatus(b, pick(g, []int{500, 502, 502, 503, 504})), 1
}

func (g *gen) nginxUpstream(b []byte) ([]byte, int) {
	b = g.tick().AppendFormat(b, "2006/01/02 15:04:05 [error] ")
	b = fmt.Appendf(b, "%d#0: *%d ", g.r.IntN(60000), g.r.IntN(1e7))
	if g.r.IntN(2) == 0 {
		b = append(b, "upstream timed out (110: Connection timed out) while reading response header from upstream"...)
	} else {
		b = append(b, "connect() failed (111: Connection refused) while connecting to upstream"...)
	}
	b = append(b, ", client: "...)
	b = g.ip(b)
	b = fmt.Appendf(b, ", server: api.example.com, request: \"GET /api/v1/orders/%d HTTP/1.1\", upstream: \"http://10.0.3.%d:8080/api/v1/orders\"\n", g.r.IntN(1e5), g.r.IntN(255))
	return b, 1
}

var javaExceptions = []string{
	"java.lang.IllegalStateException: order %d already settled",
	"java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null (id=%d)",
	"org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection; attempt %d",
	"java.lang.OutOfMemoryError: Java heap space (requested %d bytes)",
	"java.net.SocketTimeoutException: Read timed out after %dms",
}

var javaFrames = []string{
	"com.example.billing.InvoiceService.settle(InvoiceService.java:%d)",
	"com.example.api.OrderController.create(OrderController.java:%d)",
	"org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:%d)",
	"jakarta.servlet.http.HttpServlet.service(HttpServlet.java:%d)",
	"org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:%d)",
	"java.base/java.lang.Thread.run(Thread.java:%d)",
}

func (g *gen) javaException(b []byte) ([]byte, int) {
	b = g.tick().AppendFormat(b, "2006-01-02 15:04:05.000 ERROR [http-nio-8080-exec-")
	b = g.num(b, 1, 200)
	b = append(b, "] c.e.api.OrderController - request failed\n"...)
	b = fmt.Appendf(b, pick(g, javaExceptions), g.r.IntN(100000))
	b = append(b, '\n')
	n := 2
	frames := 3 + g.r.IntN(8)
	for i := 0; i < frames; i++ {
		b = append(b, "\tat "...)
		b = fmt.Appendf(b, pick(g, javaFrames), 20+g.r.IntN(900))
		b = append(b, '\n')
		n++
	}
	if g.r.IntN(3) == 0 {
		b = append(b, "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after 30000ms.\n\t... "...)
		b = g.num(b, 10, 80)
		b = append(b, " more\n"...)
		n += 2
	}
	return b, n
}

func (g *gen) pythonTraceback(b []byte) ([]byte, int) {
	b = g.tick().AppendFormat(b, "2006-01-02 15:04:05,000 ERROR app.views: Exception on /api/items [GET]\n")
	b = append(b, "Traceback (most recent call last):\n"...)
	n := 2
	for _, f := range []string{"flask/app.py\", line %d, in full_dispatch_request", "app/views.py\", line %d, in list_items", "sqlalchemy/engine/base.py\", line %d, in _execute_context"} {
		b = append(b, "  File \"/usr/lib/python3.12/site-packages/"...)
		b = fmt.Appendf(b, f, 10+g.r.IntN(3000))
		b = append(b, "\n    rv = self.dispatch_request()\n"...)
		n += 2
	}
	switch g.r.IntN(3) {
	case 0:
		b = append(b, "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused\n"...)
	case 1:
		b = append(b, "KeyError: 'item_id'\n"...)
	default:
		b = fmt.Appendf(b, "ValueError: invalid literal for int() with base 10: '%d'\n", g.r.IntN(1000))
	}
	return b, n + 1
}

func (g *gen) goPanic(b []byte) ([]byte, int) {
	b = append(b, "panic: runtime error: invalid memory address or nil pointer dereference\n"...)
	b = fmt.Appendf(b, "[signal SIGSEGV: segmentation violation code=0x1 addr=0x%x pc=0x%x]\n\n", g.r.IntN(64), 0x400000+g.r.IntN(1<<20))
	b = fmt.Appendf(b, "goroutine %d [running]:\n", 1+g.r.IntN(5000))
	b = append(b, "main.(*server).handle(0xc000123456, {0x7f1c, 0xc0001}, 0xc000456)\n\t/src/server.go:"...)
	b = g.num(b, 10, 400)
	b = append(b, " +0x1d4\nmain.main()\n\t/src/main.go:42 +0x85\n"...)
	return b, 8
}

func (g *gen) oomKill(b []byte) ([]byte, int) {
	b = g.syslogPrefix(b, "kernel")
	b = append(b, "java invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0\n"...)
	b = g.syslogPrefix(b, "kernel")
	b = fmt.Appendf(b, "Out of memory: Killed process %d (java) total-vm:%dkB, anon-rss:%dkB, file-rss:0kB, shmem-rss:0kB, UID:1000 pgtables:8192kB oom_score_adj:0\n", 300+g.r.IntN(60000), 1e6+g.r.IntN(9e6), 1e6+g.r.IntN(8e6))
	return b, 2
}

func (g *gen) sshAuth(b []byte) ([]byte, int) {
	b = g.syslogPrefix(b, "sshd")
	switch g.r.IntN(3) {
	case 0:
		b = append(b, "Failed password for invalid user "...)
		b = append(b, pick(g, []string{"admin", "oracle", "test", "ubnt", "pi"})...)
		b = append(b, " from "...)
		b = g.ip(b)
		b = append(b, " port "...)
		b = g.num(b, 1024, 65535)
		b = append(b, " ssh2\n"...)
	case 1:
		b = append(b, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost="...)
		b = g.ip(b)
		b = append(b, '\n')
	default:
		b = append(b, "Invalid user guest from "...)
		b = g.ip(b)
		b = append(b, " port "...)
		b = g.num(b, 1024, 65535)
		b = append(b, '\n')
	}
	return b, 1
}

func (g *gen) k8sEvent(b []byte) ([]byte, int) {
	b = g.tick().AppendFormat(b, "I0102 15:04:05.000000 ")
	b = g.num(b, 1000, 9999)
	b = append(b, " event.go:389] \"Event occurred\" object=\"prod/"...)
	b = append(b, pick(g, services)...)
	b = append(b, '-')
	b = g.hex(b, 10)
	b = append(b, "\" kind=\"Pod\" "...)
	b = append(b, pick(g, []string{
		`type="Warning" reason="BackOff" message="Back-off restarting failed container app in pod"`,
		`type="Warning" reason="Unhealthy" message="Liveness probe failed: HTTP probe failed with statuscode: 503"`,
		`type="Warning" reason="Failed" message="Error: ImagePullBackOff"`,
		`type="Warning" reason="OOMKilled" message="container app exceeded its memory limit"`,
	})...)
	return append(b, '\n'), 1
}

func (g *gen) logfmtIncident(b []byte) ([]byte, int) {
	b = append(b, "ts="...)
	b = g.tick().AppendFormat(b, time.RFC3339Nano)
	b = append(b, pick(g, []string{
		` level=error service=checkout msg="payment provider call failed: dial tcp 10.0.4.7:443: connect: connection refused" attempt=3`,
		` level=fatal service=billing msg="cannot open ledger database" error="no such host" exit_code=1`,
		` level=warn service=api msg="slow request" status=200 request_time=`,
	})...)
	if bytes.HasSuffix(b, []byte("request_time=")) {
		b = g.num(b, 5, 60)
		b = append(b, '.')
		b = g.num(b, 100, 999)
	}
	return append(b, '\n'), 1
}

func (g *gen) jsonIncident(b []byte) ([]byte, int) {
	b = append(b, `{"ts":"`...)
	b = g.tick().AppendFormat(b, time.RFC3339Nano)
	b = append(b, pick(g, []string{
		`","level":"error","service":"search","msg":"query failed","error":"dial tcp 10.0.7.2:9200: connect: connection refused"}`,
		`","level":"error","service":"gateway","msg":"TLS handshake failed with upstream","peer":"10.0.9.1:443"}`,
		`","level":"fatal","service":"auth","msg":"signing key missing, exiting"}`,
	})...)
	return append(b, '\n'), 1
}

func (g *gen) diskIncident(b []byte) ([]byte, int) {
	b = g.syslogPrefix(b, "kernel")
	if g.r.IntN(2) == 0 {
		b = fmt.Appendf(b, "blk_update_request: I/O error, dev sdb, sector %d op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0\n", g.r.IntN(1e9))
	} else {
		b = append(b, "EXT4-fs error (device sda1): ext4_journal_check_start:83: Detected aborted journal\n"...)
		b = g.syslogPrefix(b, "kernel")
		b = append(b, "EXT4-fs (sda1): Remounting filesystem read-only\n"...)
		return b, 2
	}
	return b, 1
}

func (g *gen) dbIncident(b []byte) ([]byte, int) {
	b = g.tick().AppendFormat(b, "2006-01-02 15:04:05.000 UTC ")
	b = fmt.Appendf(b, "[%d] ", 1000+g.r.IntN(60000))
	b = append(b, pick(g, []string{
		"ERROR:  deadlock detected",
		"FATAL:  password authentication failed for user \"app\"",
		"FATAL:  remaining connection slots are reserved for non-replication superuser connections",
		"ERROR:  could not extend file \"base/16384/2619\": No space left on device",
	})...)
	return append(b, '\n'), 1
}
