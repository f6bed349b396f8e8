package config

import "time"

// Config is a whole TinyWatcher configuration after loading: variables
// expanded, defaults applied and every cross-reference checked.
type Config struct {
	// Path is the file the config was loaded from ("" when loaded from bytes).
	Path string `yaml:"-"`

	Identity     Identity         `yaml:"identity"`
	Inputs       Inputs           `yaml:"inputs"`
	Alerts       map[string]Alert `yaml:"alerts"`
	Rules        []Rule           `yaml:"rules"`
	Resources    *Resources       `yaml:"resources"`
	SystemChecks []SystemCheck    `yaml:"system_checks"`
	Heartbeat    *Heartbeat       `yaml:"heartbeat"`
	Settings     Settings         `yaml:"settings"`

	// Warnings are problems that do not stop start-up, each starting with
	// "file:line:column: ", e.g. a glob that matches no file yet.
	Warnings []string `yaml:"-"`
}

// Identity names this machine in every alert.
type Identity struct {
	Name string `yaml:"name"` // default: hostname
}

// Inputs lists where lines come from.
type Inputs struct {
	Files      []string `yaml:"files"`
	Containers []string `yaml:"containers"`
	Streams    []Stream `yaml:"streams"`
}

// Stream is one network source.
type Stream struct {
	Name           string            `yaml:"name"` // default "<type>:<url>"
	Type           string            `yaml:"type"` // websocket | http | tcp
	URL            string            `yaml:"url"`
	Headers        map[string]string `yaml:"headers"`
	ReconnectDelay Duration          `yaml:"reconnect_delay"` // default 5s
	Method         string            `yaml:"method"`          // new, http only; default GET
	Body           string            `yaml:"body"`            // new, http only
	Listen         bool              `yaml:"listen"`          // new, tcp only: accept syslog senders instead of dialling
	Protocol       string            `yaml:"protocol"`        // new, tcp listen: "tcp" (default), "udp" or "both"
	TLS            *TLS              `yaml:"tls"`             // new
	IdleTimeout    Duration          `yaml:"idle_timeout"`    // new: reconnect when nothing arrives for this long; default 0 (off) for tcp, 60s websocket/http
}

// TLS configures a TLS client or listener.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Alert is one named destination.
type Alert struct {
	Name       string   `yaml:"-"` // the key under alerts:
	Type       string   `yaml:"type"`
	URL        string   `yaml:"url"`
	BotToken   string   `yaml:"bot_token"`
	ChatID     string   `yaml:"chat_id"`
	RoutingKey string   `yaml:"routing_key"`
	Topic      string   `yaml:"topic"`
	Server     string   `yaml:"server"`
	From       string   `yaml:"from"`
	To         []string `yaml:"to"`
	SMTPServer string   `yaml:"smtp_server"`
	APIKey     string   `yaml:"api_key"`
	Format     string   `yaml:"format"` // new, stdout: "text" (default) or "json"
}

// Rule is one matching rule.
type Rule struct {
	Name       string     `yaml:"name"`
	Pattern    string     `yaml:"pattern"`
	Text       string     `yaml:"text"`
	Alert      StringList `yaml:"alert"`
	Cooldown   Duration   `yaml:"cooldown"` // default 60s; explicit 0 means none
	Threshold  *Threshold `yaml:"threshold"`
	Sources    *Sources   `yaml:"sources"`
	IgnoreCase bool       `yaml:"ignore_case"`
	Tests      *RuleTests `yaml:"tests"`
}

// Threshold is "N in T": alert only when a rule matched Count times within Window.
type Threshold struct {
	Count  int
	Window time.Duration
}

// Sources restricts a rule to some sources. A nil *Sources means every source.
type Sources struct {
	Files      []string `yaml:"files"`
	Containers []string `yaml:"containers"`
	Streams    []string `yaml:"streams"`
}

// RuleTests are examples run by `tinywatcher test`.
type RuleTests struct {
	Match   []string `yaml:"match"`
	NoMatch []string `yaml:"no_match"`
}

// Resources configures CPU, memory and disk checks.
type Resources struct {
	Interval   Duration           `yaml:"interval"` // default 10s
	Thresholds ResourceThresholds `yaml:"thresholds"`
}

// ResourceThresholds are the limits that alert; zero means unchecked.
type ResourceThresholds struct {
	CPUPercent    float64    `yaml:"cpu_percent"`
	MemoryPercent float64    `yaml:"memory_percent"`
	DiskPercent   float64    `yaml:"disk_percent"`
	Alert         StringList `yaml:"alert"`
}

// SystemCheck is a periodic health probe.
type SystemCheck struct {
	Name            string     `yaml:"name"`
	Type            string     `yaml:"type"` // only "http"
	URL             string     `yaml:"url"`
	Interval        Duration   `yaml:"interval"`         // default 30s
	Timeout         Duration   `yaml:"timeout"`          // default 5s
	MissedThreshold int        `yaml:"missed_threshold"` // default 2
	Threshold       *Threshold `yaml:"threshold"`
	Alert           StringList `yaml:"alert"`
}

// Heartbeat pings a URL periodically.
type Heartbeat struct {
	URL      string   `yaml:"url"`
	Interval Duration `yaml:"interval"` // default 60s
}

// Settings are new, engine-level knobs; every one has a default.
type Settings struct {
	MaxLineBytes int `yaml:"max_line_bytes"` // default 64 KiB: longer lines are matched on this prefix and counted
	BlockBytes   int `yaml:"block_bytes"`    // default 64 KiB
	Workers      int `yaml:"workers"`        // 0 (the default) means GOMAXPROCS
}

// StringList accepts one string or a list of strings.
type StringList []string

// Duration accepts a number of seconds (as the original does) or a Go
// duration string such as "1m30s".
type Duration time.Duration
