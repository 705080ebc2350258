package ingest

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dossier-audit/dossier/pkg/ingest/auth"
	"github.com/dossier-audit/dossier/pkg/internal/strictjson"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("invalid dossierd configuration")

// Config is the daemon's configuration: a JSON file (see deploy/README.md
// and deploy/dossierd.json); every scalar option is also a flag and an
// environment variable (options lists them); lists of structures (mTLS
// certificate rules, JWT bindings) are set in the file only. Durations
// are Go duration strings ("5s").
type Config struct {
	// DataDir holds the log (DataDir/log), the run registry, the
	// idempotency journal, the OCI layout spool and exports.
	DataDir string `json:"dataDir"`
	// LogKey is the file of the log's note signer key (tlog.GenerateKey).
	LogKey string `json:"logKey"`
	// Watermark is the log's rollback watermark file; keep it outside
	// DataDir (default DataDir/log/.dossier/signed).
	Watermark string `json:"watermark,omitempty"`
	// IngestKey signs unsigned submissions, receipts and time evidence: a
	// key file (PEM, encrypted unless IngestKeyUnencrypted) or a KMS URI.
	IngestKey            string `json:"ingestKey"`
	IngestKeyPassword    string `json:"ingestKeyPasswordFile,omitempty"`
	IngestKeyUnencrypted bool   `json:"ingestKeyUnencrypted,omitempty"`
	// ExporterKey signs exports requested over the review API (its key
	// must hold the exporter role in the keyring); empty disables
	// POST /v1/exports. IngestKeyUnencrypted also applies to it.
	ExporterKey         string `json:"exporterKey,omitempty"`
	ExporterKeyPassword string `json:"exporterKeyPasswordFile,omitempty"`
	// Keyring lists keyring version envelope files, oldest first; their
	// producer and ingest keys may sign bundles submitted as signed. They
	// are appended to the log (stream keyring) when missing. KeyringRoot
	// pins the root fingerprint the chain must start from.
	Keyring     []string `json:"keyring,omitempty"`
	KeyringRoot string   `json:"keyringRoot,omitempty"`
	// Policy is the release policy file (spec/policy.md, v1 or v2): every
	// export carries it as its proposal, a release export must satisfy it
	// (POST /v1/exports kind "release"), a review export says what it
	// lacks; the review console evaluates runs against it.
	Policy string `json:"policy,omitempty"`
	// Name identifies this daemon in receipts (producer.id "workload:dossierd/<Name>").
	Name string `json:"name"`

	Ingest Listener `json:"ingest"`
	Review Listener `json:"review"`

	Limits Limits     `json:"limits"`
	Time   TimeConfig `json:"time"`
	Push   PushConfig `json:"push"`
	// Anchors is the background anchorer (pkg/ingest/anchors.go).
	Anchors AnchorConfig `json:"anchors"`

	// LogBatchMaxAge bounds how long the log waits to fill a sequencing
	// batch (default 1ms, tlog.DefaultBatchMaxAge: the longest gather while
	// the previous batch is written).
	LogBatchMaxAge Duration `json:"logBatchMaxAge,omitempty"`

	// IdempotencyTTL is how long Idempotency-Key answers are kept (default 24h).
	IdempotencyTTL Duration `json:"idempotencyTTL"`
}

// Listener is one HTTP listener: its address, TLS and authentication.
type Listener struct {
	Addr    string      `json:"addr"`
	TLSCert string      `json:"tlsCert,omitempty"`
	TLSKey  string      `json:"tlsKey,omitempty"`
	Auth    auth.Config `json:"auth"`
}

// Limits bound requests (research/reliability-security.md §6).
type Limits struct {
	MaxBodyBytes      int64    `json:"maxBodyBytes"`
	MaxImportBytes    int64    `json:"maxImportBytes"`
	MaxInFlight       int      `json:"maxInFlight"`
	ReadHeaderTimeout Duration `json:"readHeaderTimeout"`
	ReadTimeout       Duration `json:"readTimeout"`
	WriteTimeout      Duration `json:"writeTimeout"`
	IdleTimeout       Duration `json:"idleTimeout"`
	MaxHeaderBytes    int      `json:"maxHeaderBytes"`
	ShutdownTimeout   Duration `json:"shutdownTimeout"`
	// MaxReviewRunRecords is the most records a run may hold for the
	// review console and GET /v1/runs/{runId}/review to load and render
	// it, and for an approval of it to be checked (0: the console's
	// default, console.DefaultMaxRunRecords, which keeps one such run
	// within the daemon's memory budget; each record costs about
	// console.PeakBytesPerRecord at the peak). A larger run is listed,
	// not loaded: run-too-large.
	MaxReviewRunRecords int `json:"maxReviewRunRecords,omitempty"`
}

// TimeConfig is the time gate: the NTP servers, the checker's interval
// and what each verdict does ("refuse" or "flag"; good is always accepted).
type TimeConfig struct {
	Servers          []string `json:"servers"`
	Interval         Duration `json:"interval"`
	MinAgreeing      int      `json:"minAgreeing,omitempty"`
	MaxError         Duration `json:"maxError,omitempty"`
	AllowUntraceable bool     `json:"allowUntraceable,omitempty"`
	OnDegraded       string   `json:"onDegraded"`
	OnUntraceable    string   `json:"onUntraceable"`
	OnBad            string   `json:"onBad"`
	// OnUnknown applies when the evidence of the latest check could not
	// be logged (no server configured is untraceable, not unknown).
	OnUnknown string `json:"onUnknown"`
}

// PushConfig is the background registry push.
type PushConfig struct {
	// Registry is HOST[:PORT]/REPO; empty keeps records in the local
	// layout (DataDir/layout) only.
	Registry   string   `json:"registry,omitempty"`
	PlainHTTP  bool     `json:"plainHTTP,omitempty"`
	CAFile     string   `json:"caFile,omitempty"`
	Username   string   `json:"username,omitempty"`
	Password   string   `json:"passwordFile,omitempty"`
	Interval   Duration `json:"interval"`
	MaxBackoff Duration `json:"maxBackoff"`
}

// Policy values of TimeConfig.
const (
	PolicyRefuse = "refuse"
	PolicyFlag   = "flag"
)

// Duration is a time.Duration that reads and writes as a Go duration string.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalJSON reads "5s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("duration: want a string like \"5s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// Set implements flag.Value.
func (d *Duration) Set(s string) error {
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

func (d *Duration) String() string { return time.Duration(*d).String() }

// DefaultConfig returns the install defaults: ingest on 127.0.0.1:8443,
// review on 127.0.0.1:8444, fail-closed on bad time, accept-and-flag on
// degraded and untraceable time and before the first check.
func DefaultConfig() Config {
	return Config{
		DataDir: "/var/lib/dossierd",
		Name:    "dossierd",
		Ingest:  Listener{Addr: "127.0.0.1:8443"},
		Review:  Listener{Addr: "127.0.0.1:8444"},
		Limits: Limits{MaxBodyBytes: 4 << 20, MaxImportBytes: 1 << 30, MaxInFlight: 4096,
			ReadHeaderTimeout: Duration(5 * time.Second), ReadTimeout: Duration(30 * time.Second),
			WriteTimeout: Duration(30 * time.Second), IdleTimeout: Duration(120 * time.Second),
			MaxHeaderBytes: 64 << 10, ShutdownTimeout: Duration(30 * time.Second)},
		Time: TimeConfig{Interval: Duration(time.Minute), OnDegraded: PolicyFlag, OnUntraceable: PolicyFlag,
			OnBad: PolicyRefuse, OnUnknown: PolicyFlag},
		Push:           PushConfig{Interval: Duration(2 * time.Second), MaxBackoff: Duration(5 * time.Minute)},
		Anchors:        defaultAnchorConfig(),
		IdempotencyTTL: Duration(24 * time.Hour),
	}
}

// LoadConfigFile strictly decodes a JSON config file over c.
func (c *Config) LoadConfigFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := strictjson.Decode(b, c, strictjson.Limits{MaxBytes: 1 << 20}); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
	}
	return nil
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf("%w: "+f, append([]any{ErrConfig}, a...)...)) }
	if c.DataDir == "" {
		bad("dataDir is required")
	}
	if c.LogKey == "" {
		bad("logKey is required")
	}
	if c.IngestKey == "" {
		bad("ingestKey is required")
	}
	if c.Ingest.Addr == "" {
		bad("ingest.addr is required")
	}
	if c.ExporterKey != "" && len(c.Keyring) == 0 {
		bad("exporterKey needs a keyring (exports carry it)")
	}
	if len(c.Keyring) > 0 && c.KeyringRoot == "" {
		bad("keyring needs keyringRoot (the pinned root fingerprint)")
	}
	for name, v := range map[string]string{"onDegraded": c.Time.OnDegraded, "onUntraceable": c.Time.OnUntraceable,
		"onBad": c.Time.OnBad, "onUnknown": c.Time.OnUnknown} {
		if v != PolicyRefuse && v != PolicyFlag {
			bad("time.%s is %q, want refuse or flag", name, v)
		}
	}
	if c.Limits.MaxBodyBytes <= 0 || c.Limits.MaxInFlight <= 0 {
		bad("limits.maxBodyBytes and limits.maxInFlight must be positive")
	}
	if c.Limits.MaxReviewRunRecords < 0 {
		bad("limits.maxReviewRunRecords is %d, want 0 (the default) or more", c.Limits.MaxReviewRunRecords)
	}
	if err := c.Anchors.validate(c); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// option is one configuration option reachable as a flag and an env var.
type option struct {
	flag, env, usage string
	value            flag.Value
}

// Options lists every option as (flag, environment variable, usage);
// BindFlags and ApplyEnv use it.
func (c *Config) options() []option {
	return append([]option{
		{"data-dir", "DOSSIERD_DATA_DIR", "data directory (log, runs, journal, layout, exports)", (*strValue)(&c.DataDir)},
		{"log-key", "DOSSIERD_LOG_KEY", "log note signer key file", (*strValue)(&c.LogKey)},
		{"watermark", "DOSSIERD_WATERMARK", "log rollback watermark file (keep outside data-dir)", (*strValue)(&c.Watermark)},
		{"ingest-key", "DOSSIERD_INGEST_KEY", "ingest signing key file or KMS URI", (*strValue)(&c.IngestKey)},
		{"ingest-key-password-file", "DOSSIERD_INGEST_KEY_PASSWORD_FILE", "file holding the ingest key password", (*strValue)(&c.IngestKeyPassword)},
		{"ingest-key-unencrypted", "DOSSIERD_INGEST_KEY_UNENCRYPTED", "accept an unencrypted ingest key file", (*boolValue)(&c.IngestKeyUnencrypted)},
		{"exporter-key", "DOSSIERD_EXPORTER_KEY", "exporter signing key file or KMS URI (enables POST /v1/exports)", (*strValue)(&c.ExporterKey)},
		{"exporter-key-password-file", "DOSSIERD_EXPORTER_KEY_PASSWORD_FILE", "file holding the exporter key password", (*strValue)(&c.ExporterKeyPassword)},
		{"keyring", "DOSSIERD_KEYRING", "keyring version envelope files, comma separated, oldest first", (*listValue)(&c.Keyring)},
		{"keyring-root", "DOSSIERD_KEYRING_ROOT", "pinned keyring root fingerprint", (*strValue)(&c.KeyringRoot)},
		{"policy", "DOSSIERD_POLICY", "release policy file (spec/policy.md): release exports must satisfy it", (*strValue)(&c.Policy)},
		{"name", "DOSSIERD_NAME", "daemon name recorded in receipts", (*strValue)(&c.Name)},
		{"ingest-addr", "DOSSIERD_INGEST_ADDR", "ingest listener address", (*strValue)(&c.Ingest.Addr)},
		{"ingest-tls-cert", "DOSSIERD_INGEST_TLS_CERT", "ingest listener TLS certificate", (*strValue)(&c.Ingest.TLSCert)},
		{"ingest-tls-key", "DOSSIERD_INGEST_TLS_KEY", "ingest listener TLS key", (*strValue)(&c.Ingest.TLSKey)},
		{"ingest-tokens", "DOSSIERD_INGEST_TOKENS", "ingest bearer tokens file", (*strValue)(&c.Ingest.Auth.TokensFile)},
		{"ingest-client-ca", "DOSSIERD_INGEST_CLIENT_CA", "ingest mTLS client CA bundle", (*strValue)(&c.Ingest.Auth.ClientCAFile)},
		{"review-addr", "DOSSIERD_REVIEW_ADDR", "review/export listener address (empty: none)", (*strValue)(&c.Review.Addr)},
		{"review-tls-cert", "DOSSIERD_REVIEW_TLS_CERT", "review listener TLS certificate", (*strValue)(&c.Review.TLSCert)},
		{"review-tls-key", "DOSSIERD_REVIEW_TLS_KEY", "review listener TLS key", (*strValue)(&c.Review.TLSKey)},
		{"review-tokens", "DOSSIERD_REVIEW_TOKENS", "review bearer tokens file", (*strValue)(&c.Review.Auth.TokensFile)},
		{"review-client-ca", "DOSSIERD_REVIEW_CLIENT_CA", "review mTLS client CA bundle", (*strValue)(&c.Review.Auth.ClientCAFile)},
		{"ingest-jwks", "DOSSIERD_INGEST_JWKS", "ingest JWKS file (workload JWTs)", (*strValue)(&c.Ingest.Auth.JWT.JWKSFile)},
		{"ingest-jwt-issuer", "DOSSIERD_INGEST_JWT_ISSUER", "ingest JWT issuer", (*strValue)(&c.Ingest.Auth.JWT.Issuer)},
		{"ingest-jwt-audience", "DOSSIERD_INGEST_JWT_AUDIENCE", "ingest JWT audience", (*strValue)(&c.Ingest.Auth.JWT.Audience)},
		{"review-jwks", "DOSSIERD_REVIEW_JWKS", "review JWKS file", (*strValue)(&c.Review.Auth.JWT.JWKSFile)},
		{"review-jwt-issuer", "DOSSIERD_REVIEW_JWT_ISSUER", "review JWT issuer", (*strValue)(&c.Review.Auth.JWT.Issuer)},
		{"review-jwt-audience", "DOSSIERD_REVIEW_JWT_AUDIENCE", "review JWT audience", (*strValue)(&c.Review.Auth.JWT.Audience)},
		{"max-body-bytes", "DOSSIERD_MAX_BODY_BYTES", "largest request body", (*int64Value)(&c.Limits.MaxBodyBytes)},
		{"max-import-bytes", "DOSSIERD_MAX_IMPORT_BYTES", "largest spool tar accepted by POST /v1/import", (*int64Value)(&c.Limits.MaxImportBytes)},
		{"max-header-bytes", "DOSSIERD_MAX_HEADER_BYTES", "largest request header", (*intValue)(&c.Limits.MaxHeaderBytes)},
		{"max-review-run-records", "DOSSIERD_MAX_REVIEW_RUN_RECORDS", "most records of a run the review console and API load (0: the default, 5000; ~14 KiB of memory a record)", (*intValue)(&c.Limits.MaxReviewRunRecords)},
		{"idle-timeout", "DOSSIERD_IDLE_TIMEOUT", "HTTP keep-alive idle timeout", &c.Limits.IdleTimeout},
		{"shutdown-timeout", "DOSSIERD_SHUTDOWN_TIMEOUT", "time to drain on SIGTERM", &c.Limits.ShutdownTimeout},
		{"max-in-flight", "DOSSIERD_MAX_IN_FLIGHT", "outstanding submissions before 503", (*intValue)(&c.Limits.MaxInFlight)},
		{"read-header-timeout", "DOSSIERD_READ_HEADER_TIMEOUT", "HTTP read header timeout", &c.Limits.ReadHeaderTimeout},
		{"read-timeout", "DOSSIERD_READ_TIMEOUT", "HTTP read timeout", &c.Limits.ReadTimeout},
		{"write-timeout", "DOSSIERD_WRITE_TIMEOUT", "HTTP write timeout", &c.Limits.WriteTimeout},
		{"ntp-servers", "DOSSIERD_NTP_SERVERS", "NTP servers, comma separated", (*listValue)(&c.Time.Servers)},
		{"time-interval", "DOSSIERD_TIME_INTERVAL", "time check interval", &c.Time.Interval},
		{"time-min-agreeing", "DOSSIERD_TIME_MIN_AGREEING", "NTP sources that must agree", (*intValue)(&c.Time.MinAgreeing)},
		{"time-max-error", "DOSSIERD_TIME_MAX_ERROR", "largest clock error bound judged good", &c.Time.MaxError},
		{"time-allow-untraceable", "DOSSIERD_TIME_ALLOW_UNTRACEABLE", "let local-mode NTP servers prove a bound", (*boolValue)(&c.Time.AllowUntraceable)},
		{"time-on-degraded", "DOSSIERD_TIME_ON_DEGRADED", "refuse or flag", (*strValue)(&c.Time.OnDegraded)},
		{"time-on-untraceable", "DOSSIERD_TIME_ON_UNTRACEABLE", "refuse or flag", (*strValue)(&c.Time.OnUntraceable)},
		{"time-on-bad", "DOSSIERD_TIME_ON_BAD", "refuse or flag", (*strValue)(&c.Time.OnBad)},
		{"time-on-unknown", "DOSSIERD_TIME_ON_UNKNOWN", "refuse or flag (before the first check)", (*strValue)(&c.Time.OnUnknown)},
		{"registry", "DOSSIERD_REGISTRY", "registry repository HOST[:PORT]/REPO to push to", (*strValue)(&c.Push.Registry)},
		{"registry-plain-http", "DOSSIERD_REGISTRY_PLAIN_HTTP", "push over plain HTTP", (*boolValue)(&c.Push.PlainHTTP)},
		{"registry-username", "DOSSIERD_REGISTRY_USERNAME", "registry user name", (*strValue)(&c.Push.Username)},
		{"registry-password-file", "DOSSIERD_REGISTRY_PASSWORD_FILE", "file holding the registry password", (*strValue)(&c.Push.Password)},
		{"push-interval", "DOSSIERD_PUSH_INTERVAL", "how often the pusher runs", &c.Push.Interval},
		{"push-max-backoff", "DOSSIERD_PUSH_MAX_BACKOFF", "longest wait between failed pushes", &c.Push.MaxBackoff},
		{"registry-ca", "DOSSIERD_REGISTRY_CA", "registry CA bundle", (*strValue)(&c.Push.CAFile)},
		{"log-batch-max-age", "DOSSIERD_LOG_BATCH_MAX_AGE", "longest wait to fill a log sequencing batch", &c.LogBatchMaxAge},
		{"idempotency-ttl", "DOSSIERD_IDEMPOTENCY_TTL", "how long Idempotency-Key answers are kept", &c.IdempotencyTTL},
	}, c.anchorOptions()...)
}

// BindFlags registers every option on fs; a flag set on the command line
// overrides the file and the environment.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	for _, o := range c.options() {
		fs.Var(o.value, o.flag, o.usage+" (env "+o.env+")")
	}
}

// ApplyEnv sets options from environment variables found by lookup.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	for _, o := range c.options() {
		if v, ok := lookup(o.env); ok {
			if err := o.value.Set(v); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrConfig, o.env, err)
			}
		}
	}
	return nil
}

type strValue string

func (s *strValue) Set(v string) error { *s = strValue(v); return nil }
func (s *strValue) String() string     { return string(*s) }

type boolValue bool

func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	*b = boolValue(x)
	return err
}
func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }

type intValue int

func (i *intValue) Set(v string) error {
	x, err := strconv.Atoi(v)
	*i = intValue(x)
	return err
}
func (i *intValue) String() string { return strconv.Itoa(int(*i)) }

type int64Value int64

func (i *int64Value) Set(v string) error {
	x, err := strconv.ParseInt(v, 10, 64)
	*i = int64Value(x)
	return err
}
func (i *int64Value) String() string { return strconv.FormatInt(int64(*i), 10) }

type listValue []string

func (l *listValue) Set(v string) error {
	*l = nil
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}
func (l *listValue) String() string { return strings.Join(*l, ",") }

// ConfigFromArgs builds the configuration in the documented order of
// precedence: defaults, then the JSON file named by -config (or
// DOSSIERD_CONFIG), then environment variables, then flags. It registers
// -config and every option on fs and parses args with parse.
func ConfigFromArgs(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool), parse func(*flag.FlagSet, []string) error) (Config, error) {
	probe := DefaultConfig()
	path := fs.String("config", "", "JSON configuration file (env DOSSIERD_CONFIG)")
	probe.BindFlags(fs)
	if err := parse(fs, args); err != nil {
		return Config{}, err
	}
	if *path == "" {
		*path, _ = lookupEnv("DOSSIERD_CONFIG")
	}
	cfg := DefaultConfig()
	if *path != "" {
		if err := cfg.LoadConfigFile(*path); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.ApplyEnv(lookupEnv); err != nil {
		return Config{}, err
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
	for _, o := range cfg.options() {
		if v, ok := set[o.flag]; ok {
			if err := o.value.Set(v); err != nil {
				return Config{}, fmt.Errorf("%w: -%s: %v", ErrConfig, o.flag, err)
			}
		}
	}
	return cfg, cfg.Validate()
}
