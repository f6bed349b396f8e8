package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// gen produces corpus lines. Benign lines deliberately carry near-miss
// words ("error_count=0", "no errors", "read_timeout=30s",
// "GlobalExceptionHandler") so that literal prefilters are exercised
// honestly; TestBenignLinesMatchNoDefaultRule keeps them benign.
type gen struct {
	r     *rand.Rand
	pools *loghubPools
	now   time.Time
	kinds []weighted
	total int
}

type weighted struct {
	kind   string
	weight int
	fn     func(g *gen, b []byte) []byte
}

func newGen(seed uint64, pools *loghubPools) *gen {
	g := &gen{
		r:     seedPCG(seed),
		pools: pools,
		now:   time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
	}
	all := []weighted{
		{"loghub", 30, (*gen).loghubBenign},
		{"nginx-access", 22, (*gen).nginxAccess},
		{"nginx-error", 3, (*gen).nginxErrorBenign},
		{"logfmt", 12, (*gen).logfmtBenign},
		{"json", 12, (*gen).jsonBenign},
		{"syslog", 14, (*gen).syslogBenign},
		{"java", 4, (*gen).javaBenign},
		{"python", 3, (*gen).pythonBenign},
	}
	for _, k := range all {
		if k.kind == "loghub" && (pools == nil || len(pools.benign) == 0) {
			continue
		}
		g.kinds = append(g.kinds, k)
		g.total += k.weight
	}
	return g
}

func (g *gen) benign(b []byte) ([]byte, string) {
	n := g.r.IntN(g.total)
	for _, k := range g.kinds {
		if n < k.weight {
			return k.fn(g, b), k.kind
		}
		n -= k.weight
	}
	panic("BUG: weights do not add up")
}

// tick advances the synthetic clock by up to 2 ms.
func (g *gen) tick() time.Time {
	g.now = g.now.Add(time.Duration(g.r.IntN(2000)) * time.Microsecond)
	return g.now
}

func pick[T any](g *gen, s []T) T { return s[g.r.IntN(len(s))] }

func (g *gen) ip(b []byte) []byte {
	for i := 0; i < 4; i++ {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(1+g.r.IntN(254)), 10)
	}
	return b
}

func (g *gen) hex(b []byte, n int) []byte {
	const digits = "0123456789abcdef"
	for i := 0; i < n; i++ {
		b = append(b, digits[g.r.IntN(16)])
	}
	return b
}

func (g *gen) num(b []byte, lo, hi int) []byte {
	return strconv.AppendInt(b, int64(lo+g.r.IntN(hi-lo+1)), 10)
}

func (g *gen) dur(b []byte, maxMs int) []byte {
	return strconv.AppendFloat(b, float64(g.r.IntN(maxMs*1000))/1e6, 'f', 3, 64)
}

var (
	httpMethods = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH"}
	httpPaths   = []string{"/", "/index.html", "/api/v1/orders", "/api/v1/orders/{N}", "/api/v1/users/{N}/profile",
		"/static/js/app.{x}.js", "/static/css/main.css", "/healthz", "/metrics", "/login", "/search?q=error+handling",
		"/api/v2/items?page={n}&limit=50", "/favicon.ico", "/docs/timeouts", "/api/v1/errors/summary", "/robots.txt"}
	httpOK     = []int{200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 499}
	userAgents = []string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"curl/8.5.0", "kube-probe/1.31", "Prometheus/3.0.1", "python-requests/2.32.3", "Go-http-client/1.1",
	}
	referers = []string{"-", "-", "https://example.com/", "https://example.com/search?q=no+errors", "https://www.google.com/"}
)

// nginxAccess writes a combined-format access line with a non-5xx status.
func (g *gen) nginxAccess(b []byte) []byte {
	return g.nginxAccessStatus(b, pick(g, httpOK))
}

func (g *gen) nginxAccessStatus(b []byte, status int) []byte {
	b = g.ip(b)
	b = append(b, " - - ["...)
	b = g.tick().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = append(b, pick(g, httpMethods)...)
	b = append(b, ' ')
	b = g.fill(b, pick(g, httpPaths), "")
	b = append(b, " HTTP/1.1\" "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = g.num(b, 0, 250000)
	b = append(b, " \""...)
	b = append(b, pick(g, referers)...)
	b = append(b, "\" \""...)
	b = append(b, pick(g, userAgents)...)
	b = append(b, "\" rt="...)
	b = g.dur(b, 900)
	return append(b, '\n')
}

var nginxBenignErrors = []string{
	"[warn] {N}#{n}: *{N} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{N} while reading upstream, client: {ip}",
	"[notice] {N}#{n}: signal process started, no errors in configuration test",
	"[info] {N}#{n}: *{N} client closed keepalive connection (keepalive_timeout=75s) client: {ip}",
	"[warn] {N}#{n}: *{N} a client request body is buffered to a temporary file /var/cache/nginx/client_temp/{N}, client: {ip}",
	"[notice] {N}#{n}: using inherited sockets from \"6;7;\" (no errors)",
}

func (g *gen) nginxErrorBenign(b []byte) []byte {
	b = g.tick().AppendFormat(b, "2006/01/02 15:04:05 ")
	b = g.fill(b, pick(g, nginxBenignErrors), "")
	return append(b, '\n')
}

// fill expands a line template: {w} is word, {n} a number below 255, {N}
// one below 100000, {x} eight hex digits, {ip} an IPv4 address.
func (g *gen) fill(b []byte, tmpl, word string) []byte {
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			return append(b, tmpl...)
		}
		b = append(b, tmpl[:i]...)
		tmpl = tmpl[i:]
		switch {
		case strings.HasPrefix(tmpl, "{w}"):
			b = append(b, word...)
		case strings.HasPrefix(tmpl, "{n}"):
			b = g.num(b, 0, 254)
		case strings.HasPrefix(tmpl, "{N}"):
			b = g.num(b, 0, 99999)
		case strings.HasPrefix(tmpl, "{x}"):
			b = g.hex(b, 8)
		case strings.HasPrefix(tmpl, "{ip}"):
			b = g.ip(b)
			tmpl = tmpl[1:]
		default:
			b = append(b, '{')
			tmpl = tmpl[1:]
			continue
		}
		tmpl = tmpl[3:]
	}
}

var (
	services     = []string{"api", "checkout", "billing", "auth", "search", "inventory", "notifier", "gateway"}
	logfmtMsgs   = []string{"request completed", "cache refreshed", "job finished with no errors", "connection pool stats", "config reloaded", "health check ok", "batch flushed", "retry budget ok"}
	logfmtLevels = []string{"info", "info", "info", "debug", "debug", "warn"}
)

func (g *gen) logfmtBenign(b []byte) []byte {
	b = append(b, "ts="...)
	b = g.tick().AppendFormat(b, time.RFC3339Nano)
	b = append(b, " level="...)
	b = append(b, pick(g, logfmtLevels)...)
	b = append(b, " service="...)
	b = append(b, pick(g, services)...)
	b = append(b, " msg=\""...)
	b = append(b, pick(g, logfmtMsgs)...)
	b = append(b, "\" trace_id="...)
	b = g.hex(b, 32)
	switch g.r.IntN(4) {
	case 0:
		b = append(b, " status=200 request_time="...)
		b = g.dur(b, 4900)
		b = append(b, " bytes="...)
		b = g.num(b, 0, 90000)
	case 1:
		b = append(b, " error_count=0 errors=0 read_timeout=30s connect_timeout_ms=5000 retries="...)
		b = g.num(b, 0, 2)
	case 2:
		b = append(b, " pool_active="...)
		b = g.num(b, 0, 64)
		b = append(b, " pool_idle="...)
		b = g.num(b, 0, 64)
		b = append(b, " non_critical=true oom_score_adj=0 panic_recovered=false"...)
	default:
		b = append(b, " duration_ms="...)
		b = g.num(b, 0, 3000)
		b = append(b, " exception_count=0 connection_refused_total=0 user=u"...)
		b = g.num(b, 1, 99999)
	}
	return append(b, '\n')
}

var jsonMsgs = []string{"order placed", "user signed in", "payment authorized", "no errors during sync", "webhook delivered", "cache miss", "rate limit ok", "feature flag evaluated"}

func (g *gen) jsonBenign(b []byte) []byte {
	b = append(b, `{"ts":"`...)
	b = g.tick().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, pick(g, logfmtLevels)...)
	b = append(b, `","service":"`...)
	b = append(b, pick(g, services)...)
	b = append(b, `","msg":"`...)
	b = append(b, pick(g, jsonMsgs)...)
	b = append(b, `","request_id":"`...)
	b = g.hex(b, 8)
	b = append(b, '-')
	b = g.hex(b, 4)
	b = append(b, '-')
	b = g.hex(b, 12)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(pick(g, httpOK)), 10)
	b = append(b, `,"duration_ms":`...)
	b = g.dur(b, 900000)
	switch g.r.IntN(3) {
	case 0:
		b = append(b, `,"error":null,"error_count":0,"timeout_ms":30000}`...)
	case 1:
		b = append(b, `,"retries":0,"errors":[],"exceptionHandler":"GlobalExceptionHandler"}`...)
	default:
		b = append(b, `,"user_id":`...)
		b = g.num(b, 1, 1e6)
		b = append(b, `,"critical_path_ms":`...)
		b = g.num(b, 1, 900)
		b = append(b, '}')
	}
	return append(b, '\n')
}

// The syslog vocabulary overlaps match.ManyRules' so a realistic share of
// these lines hits the large ignore list.
var (
	syslogProgs = []string{
		"sshd", "crond", "CRON", "systemd", "kernel", "dhclient", "NetworkManager",
		"postfix/smtpd", "postfix/qmgr", "dovecot", "named", "ntpd", "chronyd",
		"rsyslogd", "auditd", "sudo", "su", "polkitd", "dbus-daemon", "avahi-daemon",
		"containerd", "dockerd", "kubelet", "snapd", "nginx", "haproxy", "smartd",
		"anacron", "logrotate", "xinetd",
	}
	syslogMsgs = []string{
		"session opened for user {w} by (uid=0)",
		"session closed for user {w}",
		"Accepted publickey for {w} from {ip} port {N} ssh2: ED25519 SHA256:x1",
		"Started Session {N} of user {w}.",
		"Removed slice User Slice of {w}.",
		"pam_unix({w}:session): session opened for user root(uid=0) by (uid=0)",
		"DHCPREQUEST on {w} to {ip} port 67",
		"connection from {ip} ({w})",
		"disconnect from {w}[{ip}]",
		"Reloading {w} configuration (no errors)",
		"{w}: synchronized to {ip}, stratum 2",
		"Received disconnect from {ip} port {N}:11: {w}",
		"starting {w} version 2.{n}.{n}",
		"{w}.service: Succeeded.",
		"USER_{w} pid={N} uid={n} auid=4294967295 res=success",
	}
	syslogWords = []string{
		"root", "www-data", "postgres", "backup", "nagios", "deploy", "ubuntu",
		"ec2-user", "jenkins", "git", "mysql", "redis", "nobody", "daemon", "admin",
		"eth0", "eth1", "ens3", "wlan0", "bond0", "logrotate", "apt-daily",
		"fstrim", "motd-news", "man-db", "LOGIN", "START", "END", "ACCT", "CRED",
	}
	hosts = []string{"web-01", "web-02", "db-01", "worker-07", "edge-3", "build-11"}
)

func (g *gen) syslogPrefix(b []byte, prog string) []byte {
	b = g.tick().AppendFormat(b, "Jan _2 15:04:05 ")
	b = append(b, pick(g, hosts)...)
	b = append(b, ' ')
	b = append(b, prog...)
	b = append(b, '[')
	b = g.num(b, 300, 65000)
	return append(b, "]: "...)
}

func (g *gen) syslogBenign(b []byte) []byte {
	b = g.syslogPrefix(b, pick(g, syslogProgs))
	b = g.fill(b, pick(g, syslogMsgs), pick(g, syslogWords))
	return append(b, '\n')
}

var (
	javaLoggers = []string{"c.e.api.OrderController", "c.e.billing.InvoiceService", "o.s.web.servlet.DispatcherServlet", "c.e.web.GlobalExceptionHandler", "o.h.engine.jdbc.spi.SqlExceptionHelper", "c.z.hikari.pool.HikariPool"}
	javaMsgs    = []string{"order %d placed", "handler ready, ExceptionHandler count=%d", "HikariPool-1 - pool stats (total=%d, active=2, idle=8, waiting=0)", "completed initialization in %d ms", "invoice %d rendered, no errors", "retrying later, attempt %d of 3 (timeout_ms=500)"}
	javaLevels  = []string{"INFO ", "INFO ", "INFO ", "DEBUG", "WARN "}
)

func (g *gen) javaBenign(b []byte) []byte {
	b = g.tick().AppendFormat(b, "2006-01-02 15:04:05.000 ")
	b = append(b, pick(g, javaLevels)...)
	b = append(b, " [http-nio-8080-exec-"...)
	b = g.num(b, 1, 200)
	b = append(b, "] "...)
	b = append(b, pick(g, javaLoggers)...)
	b = append(b, " - "...)
	b = fmt.Appendf(b, pick(g, javaMsgs), g.r.IntN(100000))
	return append(b, '\n')
}

var pythonMsgs = []string{
	"GET /api/items 200 in %dms", "celery task refresh_cache succeeded in %d.1s: None", "Scheduler tick, %d jobs pending, no errors",
	"retry policy: max_retries=3 backoff=%ds timeout_s=30", "Worker ready (pid=%d)",
}

func (g *gen) pythonBenign(b []byte) []byte {
	b = g.tick().AppendFormat(b, "2006-01-02 15:04:05,000 ")
	b = append(b, pick(g, []string{"INFO", "INFO", "DEBUG", "WARNING"})...)
	b = append(b, ' ')
	b = append(b, pick(g, []string{"app.views", "celery.worker", "app.tasks", "gunicorn.error"})...)
	b = append(b, ": "...)
	b = fmt.Appendf(b, pick(g, pythonMsgs), g.r.IntN(10000))
	return append(b, '\n')
}

func (g *gen) loghubBenign(b []byte) []byte {
	sys := g.pools.benign[g.r.IntN(len(g.pools.benign))]
	b = append(b, sys[g.r.IntN(len(sys))]...)
	return append(b, '\n')
}
