package match

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// syntheticLines are realistic interesting lines for DefaultRules and the
// extra test rules, mixed into loghub text.
var syntheticLines = []string{
	`10.1.2.3 - - [23/Nov/2026:22:10:01 +0000] "GET /api/v1/orders HTTP/1.1" 502 157 "-" "curl/8.5.0" request_time=12.004`,
	`10.1.2.4 - - [23/Nov/2026:22:10:02 +0000] "POST /login HTTP/1.1" 200 512 "-" "Mozilla/5.0" request_time=0.012`,
	`2026/11/23 22:10:03 [error] 1234#1234: *99 upstream timed out (110: Connection timed out) while reading response header from upstream`,
	`2026/11/23 22:10:04 [error] 1234#1234: *100 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1`,
	`2026/11/23 22:10:05 [alert] 1#1: worker process 4711 exited on signal 9`,
	`Nov 23 22:10:06 web1 kernel: [123456.789] Out of memory: Killed process 4242 (java) total-vm:8123456kB`,
	`Nov 23 22:10:07 web1 kernel: [123457.000] app[999]: segfault at 0 ip 00007f1234567890 sp 00007ffd12345678 error 4 in libc.so.6`,
	`Nov 23 22:10:08 web1 kernel: Buffer I/O error on dev sda1, logical block 1234, lost async page write`,
	`Nov 23 22:10:09 web1 systemd[1]: nginx.service: Failed with result 'exit-code'.`,
	`Nov 23 22:10:09 web1 systemd[1]: Failed to start The nginx HTTP and reverse proxy server.`,
	`Nov 23 22:10:10 web1 sshd[2222]: Failed password for invalid user admin from 203.0.113.7 port 52311 ssh2`,
	`Nov 23 22:10:11 web1 sshd[2223]: Invalid user oracle from 198.51.100.23 port 40022`,
	`Nov 23 22:10:12 web1 sudo:   alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash`,
	`Exception in thread "main" java.lang.IllegalStateException: connection pool exhausted`,
	`	at com.example.db.Pool.acquire(Pool.java:142)`,
	`	at com.example.api.Handler.handle(Handler.java:57)`,
	`Caused by: java.lang.OutOfMemoryError: Java heap space`,
	`Traceback (most recent call last):`,
	`  File "/srv/app/worker.py", line 88, in run`,
	`KeyError: 'user_id'`,
	`panic: runtime error: invalid memory address or nil pointer dereference`,
	`goroutine 1 [running]:`,
	`2026-11-23T22:10:13Z FATAL could not open config file /etc/app.yaml`,
	`2026-11-23 22:10:14,001 ERROR [pool-3-thread-7] c.e.Service - request failed`,
	`Warning  BackOff  12s (x4 over 60s)  kubelet  Back-off restarting failed container app in pod web-7d9f`,
	`  Last State:  Terminated  Reason: OOMKilled  Exit Code: 137`,
	`Warning  Failed  3s  kubelet  Error: ImagePullBackOff`,
	`Warning  Unhealthy  5s  kubelet  Readiness probe failed: HTTP probe failed with statuscode: 503`,
	`2026-11-23 22:10:15.123 UTC [4242] FATAL:  password authentication failed for user "app"`,
	`2026-11-23 22:10:16.456 UTC [4243] ERROR:  deadlock detected`,
	`ERROR 1040 (08004): Too many connections`,
	`-ERR OOM command not allowed when used memory > 'maxmemory'.`,
	`2026-11-23 22:10:17,000 - WARN  [RecvWorker:1:QuorumCnxManager$RecvWorker@780] - Interrupting SendWorker`,
	`dial tcp 10.0.0.5:5432: connect: connection refused`,
	`context deadline exceeded (Client.Timeout exceeded while awaiting headers) timed out`,
	`http: TLS handshake error from 10.0.0.9:443: EOF`,
	`open /var/lib/app/state.json: No such file or directory`,
	`write /var/log/app.log: no space left on device`,
	`EXT4-fs error (device sda1): ext4_journal_check_start: Detected aborted journal; Remounting filesystem read-only`,
	`Kernel panic - not syncing: Fatal exception in interrupt`,
	`12345`,
	``,
	`   `,
	"caf\u00e9 \u212Aelvin \u017Fyslog STRASSE stra\u00dfe",
	"bad utf8 \xff\xfe in the middle \xc3 ERROR truncated \xe2\x82",
	"crlf line with ERROR\r",
	"TLSv1.2 Handshake Failure from peer",
}

// mixedCorpus returns about size bytes of loghub lines in a deterministic
// shuffled order with about one synthetic interesting line per 100. With
// quiet, only loghub lines that match no DefaultRules rule are used, so
// about 1% of the lines match (the "1% interesting lines" stream).
func mixedCorpus(tb testing.TB, size int, quiet bool) []byte {
	tb.Helper()
	var lines [][]byte
	for _, sys := range loghubSystems {
		b, err := os.ReadFile(filepath.Join(loghubDir, sys+"_2k.log"))
		if err != nil {
			tb.Skipf("loghub corpus not available: %v", err)
		}
		for l := range bytes.Lines(b) {
			lines = append(lines, bytes.TrimRight(l, "\r\n"))
		}
	}
	if quiet {
		p, err := Compile(DefaultRules())
		if err != nil {
			tb.Fatal(err)
		}
		m, err := p.NewMatcher()
		if err != nil {
			tb.Fatal(err)
		}
		all := bytes.Join(lines, []byte("\n"))
		matched := map[int]bool{}
		m.Scan(all, nil, func(line []byte, _ Bits) { matched[cap(all)-cap(line)] = true })
		kept := lines[:0]
		off := 0
		for _, l := range lines {
			if !matched[off] {
				kept = append(kept, l)
			}
			off += len(l) + 1
		}
		lines = kept
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var out bytes.Buffer
	for out.Len() < size {
		if rng.IntN(100) == 0 {
			out.WriteString(syntheticLines[rng.IntN(len(syntheticLines))])
		} else {
			out.Write(lines[rng.IntN(len(lines))])
		}
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// splitBlocks cuts b into blocks of about size bytes ending at '\n'.
func splitBlocks(b []byte, size int) [][]byte {
	var blocks [][]byte
	for len(b) > 0 {
		n := min(size, len(b))
		if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 && n < len(b) {
			n = i + 1
		}
		blocks = append(blocks, b[:n])
		b = b[n:]
	}
	return blocks
}
