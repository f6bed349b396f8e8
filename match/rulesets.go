package match

import (
	"fmt"
	"regexp"
)

// DefaultRules returns a realistic set of production alert rules over
// nginx/Apache, syslog, sshd, kernel, Java, Python, Go, Kubernetes and
// database logs. Benchmarks (here and in bench/) and tests use it as "the
// typical configuration". The result is a fresh slice on every call.
func DefaultRules() []Rule {
	return []Rule{
		// Web servers.
		{Name: "nginx-5xx", Pattern: `" 5\d\d \d+ "`},
		{Name: "nginx-upstream-timeout", Pattern: `upstream timed out \(110: (?:Connection|Operation) timed out\)`},
		{Name: "nginx-upstream-refused", Text: "connect() failed (111: Connection refused) while connecting to upstream"},
		{Name: "nginx-worker-crash", Pattern: `worker process \d+ exited on signal \d+`},
		{Name: "apache-error", Pattern: `^\[[^\]]+\] \[(?:error|crit|alert|emerg)\]`},
		{Name: "apache-jk-error-state", Pattern: `mod_jk child workerEnv in error state \d+`},
		{Name: "http-slow-request", Pattern: `request_time=(?:[1-9]\d{1,}|[5-9])\.\d+`},

		// Kernel and system.
		{Name: "oom-killer", Pattern: `(?:Out of memory: Kill(?:ed)? process|invoked oom-killer)`},
		{Name: "kernel-segfault", Pattern: `segfault at [0-9a-f]+ ip [0-9a-f]+ sp`},
		{Name: "kernel-panic", Text: "Kernel panic - not syncing"},
		{Name: "disk-io-error", Pattern: `(?i)(?:I/O error|medium error|Buffer I/O error on dev)`},
		{Name: "fs-readonly", Pattern: `Remounting filesystem read-only`},
		{Name: "disk-full", Text: "No space left on device"},
		{Name: "systemd-failed", Pattern: `systemd\[\d+\]: .*(?:Failed to start|entered failed state|failed with result)`},
		{Name: "cron-session-root", Pattern: `crond\(pam_unix\)\[\d+\]: session opened for user root`},
		{Name: "hw-parity-error", Pattern: `(?i)parity error`},
		{Name: "component-unavailable", Pattern: `state_change\.unavailable`},

		// Authentication.
		{Name: "ssh-failed-password", Pattern: `sshd\[\d+\]: Failed password for (?:invalid user )?\S+ from \d{1,3}(?:\.\d{1,3}){3}`},
		{Name: "ssh-invalid-user", Pattern: `Invalid user \S+ from [0-9.]+`},
		{Name: "ssh-break-in", Text: "POSSIBLE BREAK-IN ATTEMPT", IgnoreCase: true},
		{Name: "pam-auth-failure", Pattern: `pam_unix\([a-z_-]+:auth\): authentication failure|authentication failure; logname=`},
		{Name: "sudo-incorrect", Pattern: `sudo: +\S+ : \d+ incorrect password attempts?`},
		{Name: "too-many-auth-failures", Pattern: `(?i)too many authentication failures`},

		// Application runtimes.
		{Name: "java-exception", Pattern: `(?:^|\s)(?:[a-z][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)(?::|\s|$)`},
		{Name: "java-stack-frame", Pattern: `^\s+at [\w$.<>]+\([\w$]+\.java:\d+\)$`},
		{Name: "java-oom", Text: "java.lang.OutOfMemoryError"},
		{Name: "python-traceback", Text: "Traceback (most recent call last):"},
		{Name: "python-error-line", Pattern: `^[A-Z]\w*(?:Error|Exception): `},
		{Name: "go-panic", Pattern: `^panic: |^goroutine \d+ \[running\]:$`},
		{Name: "fatal-level", Pattern: `(?i)\b(?:fatal|critical)\b`},
		{Name: "log-level-error", Pattern: `(?:^|[\s\[|])(?:ERROR|SEVERE)(?:[\s\]|:]|$)`},

		// Kubernetes and containers.
		{Name: "k8s-crashloop", Pattern: `CrashLoopBackOff|Back-off restarting failed container`},
		{Name: "k8s-oomkilled", Pattern: `(?i)reason:\s*OOMKilled|OOMKilled`},
		{Name: "k8s-image-pull", Pattern: `(?:ErrImagePull|ImagePullBackOff)`},
		{Name: "k8s-probe-failed", Pattern: `(?:Liveness|Readiness) probe failed`},
		{Name: "k8s-node-notready", Pattern: `Node \S+ status is now: NodeNotReady`},

		// Databases and queues.
		{Name: "pg-fatal", Pattern: `(?:FATAL|PANIC): +(?:password authentication failed|the database system is|remaining connection slots)`},
		{Name: "pg-deadlock", Text: "deadlock detected", IgnoreCase: true},
		{Name: "mysql-too-many-conn", Text: "Too many connections"},
		{Name: "redis-oom", Pattern: `OOM command not allowed when used memory > 'maxmemory'`},
		{Name: "zk-connection-broken", Pattern: `(?:Connection broken for id \d+|Interrupting SendWorker)`},
		{Name: "hdfs-exception", Pattern: `dfs\.\w+: .*(?:Exception|exception|Got exception)`},

		// Generic.
		{Name: "connection-refused", Pattern: `(?i)connection refused`},
		{Name: "timeout", Pattern: `(?i)\btimed? ?out\b`},
		{Name: "tls-handshake-failed", Pattern: `(?i)tls(?:v1\.[0-3])? handshake (?:error|failed|failure)`},
		{Name: "no-such-file", Text: "No such file or directory"},
	}
}

var manyProgs = []string{
	"sshd", "crond", "CRON", "systemd", "kernel", "dhclient", "NetworkManager",
	"postfix/smtpd", "postfix/qmgr", "dovecot", "named", "ntpd", "chronyd",
	"rsyslogd", "auditd", "sudo", "su", "polkitd", "dbus-daemon", "avahi-daemon",
	"containerd", "dockerd", "kubelet", "snapd", "nginx", "haproxy", "smartd",
	"anacron", "logrotate", "xinetd",
}

var manyMsgs = []string{
	"session opened for user %s by",
	"session closed for user %s",
	"Accepted publickey for %s from",
	"Started Session \\d+ of user %s",
	"Removed slice User Slice of %s",
	"pam_unix\\(%s:session\\): session opened",
	"DHCPREQUEST on %s to \\d+\\.\\d+\\.\\d+\\.\\d+ port 67",
	"connection from \\S+ \\(%s\\)",
	"disconnect from %s\\[",
	"Reloading %s configuration",
	"%s: synchronized to \\S+, stratum \\d",
	"Received disconnect from \\S+ port \\d+:11: %s",
	"starting %s version [\\d.]+",
	"%s\\.service: Succeeded",
	"USER_%s pid=\\d+ uid=\\d+",
}

var manyWords = []string{
	"root", "www-data", "postgres", "backup", "nagios", "deploy", "ubuntu",
	"ec2-user", "jenkins", "git", "mysql", "redis", "nobody", "daemon", "admin",
	"eth0", "eth1", "ens3", "wlan0", "bond0", "logrotate", "apt-daily",
	"fstrim", "motd-news", "man-db", "LOGIN", "START", "END", "ACCT", "CRED",
}

// ManyRules returns n deterministic rules in the style of a large syslog
// ignore list (program name + message template + a varying word), for
// benchmarks and tests with 1,000+ rules. About one rule in seven is a
// plain text rule and one in eleven ignores case.
func ManyRules(n int) []Rule {
	rules := make([]Rule, 0, n)
	for i := 0; i < n; i++ {
		prog := manyProgs[i%len(manyProgs)]
		msg := manyMsgs[(i/len(manyProgs))%len(manyMsgs)]
		// (prog, msg, word) is a bijection of i for i < 30*15*30 = 13500:
		// for a fixed i%450 the word index runs through all 30 words.
		k := i / (len(manyProgs) * len(manyMsgs))
		word := manyWords[(i*7+k)%len(manyWords)]
		if round := i / (len(manyProgs) * len(manyMsgs) * len(manyWords)); round > 0 {
			word += fmt.Sprintf("-%d", round)
		}
		r := Rule{Name: fmt.Sprintf("ignore-%04d", i)}
		if i%7 == 3 {
			r.Text = fmt.Sprintf("%s[%d]: %s exited", prog, 1000+i, word)
		} else {
			r.Pattern = regexp.QuoteMeta(prog) + `(?:\[\d+\])?: ` + fmt.Sprintf(msg, regexp.QuoteMeta(word))
		}
		if i%11 == 5 {
			r.IgnoreCase = true
		}
		rules = append(rules, r)
	}
	return rules
}
