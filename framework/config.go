// Package framework is the suite's core: configuration, clients, timeouts,
// namespaces and artifacts. It imports none of its sub-packages; they import it.
package framework

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Config is the suite's one configuration. Every field can be set by a flag
// (prefix "e2e.") or an environment variable; a flag wins over the environment.
type Config struct {
	Artifacts          string // ARTIFACTS: where reports and diagnostics go
	ClusterName        string
	KindConfig         string // kind cluster config file for a new cluster
	NodeImage          string // node image for a new cluster; empty = kind's default
	Kubeconfig         string // with UseExistingCluster: the cluster to test
	UseExistingCluster bool
	KeepCluster        bool // do not delete a cluster this run created
	AllowNodeChanges   bool // allow tainting/labelling nodes of a non-kind cluster
	// NodeAccess is how specs reach a node's host: "kind" (docker exec, kind clusters
	// only) or "agent" (a privileged agent pod per node, through the API's exec).
	NodeAccess string
	// NotKind treats a kind cluster as any other cluster: nothing kind-specific is used
	// (no node joins or removals, no docker exec), as on a cluster a vendor ships.
	NotKind bool
	// ProductFile is a PRODUCT.yaml describing the certified product, carried into the report.
	ProductFile   string
	WorkloadImage string
	TimeoutScale  float64 // multiplies every timeout tier (slow machines)
	DryRun        bool
	// Mode is a named selection (quick, non-disruptive, certified; modes.go).
	Mode string
}

type setting struct {
	flag, env, usage string
	ptr              any
	def              string
}

func (c *Config) settings() []setting {
	return []setting{
		{"artifacts", "ARTIFACTS", "directory for reports, diagnostics and logs", &c.Artifacts, "_artifacts"},
		{"cluster-name", "E2E_CLUSTER_NAME", "kind cluster name", &c.ClusterName, "dsconform"},
		{"kind-config", "E2E_KIND_CONFIG", "kind cluster configuration for a new cluster", &c.KindConfig, "kind-configs/default.yaml"},
		{"node-image", "NODE_IMAGE", "kind node image for a new cluster (empty: kind's default)", &c.NodeImage, ""},
		{"kubeconfig", "KUBECONFIG", "kubeconfig of an existing cluster (with use-existing-cluster)", &c.Kubeconfig, ""},
		{"use-existing-cluster", "E2E_USE_EXISTING_CLUSTER", "test the cluster in kubeconfig instead of creating one", &c.UseExistingCluster, "false"},
		{"keep-cluster", "E2E_KEEP_CLUSTER", "keep a cluster this run created", &c.KeepCluster, "false"},
		{"node-access", "E2E_NODE_ACCESS", "how specs reach nodes: kind (docker exec) or agent (privileged agent pods through the API)", &c.NodeAccess, "kind"},
		{"not-kind", "E2E_NOT_KIND", "treat the cluster as not kind: skip node joins/removals, never use docker exec", &c.NotKind, "false"},
		{"product-file", "E2E_PRODUCT_FILE", "PRODUCT.yaml (vendor, name, version, ...) of the product under test, carried into the report", &c.ProductFile, ""},
		{"allow-node-changes", "E2E_ALLOW_NODE_CHANGES", "allow specs to taint, label and cordon nodes of a cluster that is not kind", &c.AllowNodeChanges, "false"},
		{"workload-image", "WORKLOAD_IMAGE", "image the fixtures run", &c.WorkloadImage, "localhost/dsconform/workload:dev"},
		{"timeout-scale", "E2E_TIMEOUT_SCALE", "multiplier for every timeout tier", &c.TimeoutScale, "1"},
		{"dry-run", "E2E_DRY_RUN", "list specs and requirements without touching a cluster", &c.DryRun, "false"},
		{"mode", "E2E_MODE", "a named selection: quick, non-disruptive or certified (empty: every spec the label filter selects)", &c.Mode, ""},
	}
}

// RegisterFlags defines the "e2e." flags on fs with defaults taken from the
// environment, so flags override environment which overrides built-in defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) error {
	for _, s := range c.settings() {
		def := s.def
		if v, ok := os.LookupEnv(s.env); ok && v != "" {
			def = v
		}
		name, usage := "e2e."+s.flag, fmt.Sprintf("%s (env %s)", s.usage, s.env)
		switch p := s.ptr.(type) {
		case *string:
			fs.StringVar(p, name, def, usage)
		case *bool:
			b, err := strconv.ParseBool(def)
			if err != nil {
				return fmt.Errorf("%s=%q is not a boolean (use true or false)", s.env, def)
			}
			fs.BoolVar(p, name, b, usage)
		case *float64:
			f, err := strconv.ParseFloat(def, 64)
			if err != nil || f <= 0 {
				return fmt.Errorf("%s=%q is not a positive number", s.env, def)
			}
			fs.Float64Var(p, name, f, usage)
		}
	}
	return nil
}

// Validate checks the configuration before any cluster is touched and returns one
// error saying what is wrong and how to fix it.
func (c *Config) Validate() error {
	if c.TimeoutScale <= 0 {
		return fmt.Errorf("e2e.timeout-scale=%v must be positive", c.TimeoutScale)
	}
	if _, _, err := LookupMode(c.Mode); err != nil {
		return err
	}
	if c.NodeAccess != "" && c.NodeAccess != "kind" && c.NodeAccess != "agent" {
		return fmt.Errorf("E2E_NODE_ACCESS=%q: want kind (docker exec into kind nodes) or agent (privileged agent pods through the API)", c.NodeAccess)
	}
	if c.ProductFile != "" {
		if _, err := os.Stat(c.ProductFile); err != nil {
			return fmt.Errorf("E2E_PRODUCT_FILE %s cannot be read (%v): point it at your PRODUCT.yaml", c.ProductFile, err)
		}
	}
	if c.NotKind && !c.UseExistingCluster {
		return fmt.Errorf("E2E_NOT_KIND=true tests an existing cluster as a vendor's: set E2E_USE_EXISTING_CLUSTER=true and KUBECONFIG")
	}
	if c.UseExistingCluster {
		if c.Kubeconfig == "" {
			return fmt.Errorf("use-existing-cluster needs a kubeconfig: set KUBECONFIG or --e2e.kubeconfig")
		}
		if c.Kubeconfig == InCluster {
			if os.Getenv("KUBERNETES_SERVICE_HOST") == "" {
				return fmt.Errorf("KUBECONFIG=%s works only inside a pod: point KUBECONFIG at a kubeconfig file", InCluster)
			}
			return nil
		}
		if _, err := os.Stat(c.Kubeconfig); err != nil {
			return fmt.Errorf("kubeconfig %s cannot be read (%v): point KUBECONFIG at an existing file", c.Kubeconfig, err)
		}
		return nil
	}
	if _, err := os.Stat(c.KindConfig); err != nil {
		return fmt.Errorf("kind config %s cannot be read (%v): set E2E_KIND_CONFIG to a file in kind-configs/", c.KindConfig, err)
	}
	return nil
}

// ResolvePaths makes relative paths absolute against dir (the repository root),
// since Ginkgo runs each suite from its own package directory.
func (c *Config) ResolvePaths(dir string) {
	for _, p := range []*string{&c.Artifacts, &c.KindConfig, &c.Kubeconfig, &c.ProductFile} {
		if *p != "" && *p != InCluster && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// KubeconfigPath is where a cluster the suite created writes its kubeconfig.
func (c *Config) KubeconfigPath() string {
	if c.UseExistingCluster {
		return c.Kubeconfig
	}
	return filepath.Join(c.Artifacts, "kubeconfig")
}

// Timeouts are the named wait tiers. Every wait in the suite uses one of them.
type Timeouts struct {
	Short, Medium, Long, NodeLifecycle time.Duration
	// Poll is deliberately not a multiple of 5 s: node status updates every 5 s.
	Poll time.Duration
	// Hold and HoldLong are the windows over which an invariant must hold
	// (Consistently); HoldLong outlasts the kubelet's file-check period (For).
	// HoldPoll is how often an invariant is checked within them.
	Hold, HoldLong, HoldPoll time.Duration
	// NodeNotReady and KubeletSync wait on the cluster's own timers: For derives them
	// from what the cluster under test uses.
	NodeNotReady, KubeletSync time.Duration
	// ClusterReady bounds the wait for a created or reused cluster's nodes and system pods;
	// a scale below 1 (the self-test's) does not shorten it.
	ClusterReady time.Duration
}

// Ginkgo fixes a node's timeout when the spec tree is built, before flags are read, so
// these limits cannot follow E2E_TIMEOUT_SCALE: they bound the suite's setup and
// teardown (a cluster created, a sweep, a leak check) and a failed spec's diagnostics.
const (
	SuiteSetupLimit  = 15 * time.Minute
	DiagnosticsLimit = 2 * time.Minute
)

// Timeouts returns the tiers scaled by TimeoutScale.
func (c *Config) Timeouts() Timeouts {
	s := func(d time.Duration) time.Duration { return time.Duration(float64(d) * c.TimeoutScale) }
	return Timeouts{Short: s(30 * time.Second), Medium: s(2 * time.Minute), Long: s(5 * time.Minute),
		NodeLifecycle: s(8 * time.Minute), Poll: 700 * time.Millisecond,
		Hold: s(12 * time.Second), HoldPoll: 2 * time.Second,
		ClusterReady: max(s(3*time.Minute), 3*time.Minute)}.For(DefaultClusterTimers())
}

// ParseConfig is the settings of a command run from the repository root: the
// environment, then the -e2e.* flags in args, with paths resolved against the working
// directory. A bad flag is the returned error, printed by the caller in one line.
func ParseConfig(name string, args []string) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := c.RegisterFlags(fs); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	c.ResolvePaths(root)
	return c, nil
}
