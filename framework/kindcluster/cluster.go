// Package kindcluster creates, reuses and deletes kind clusters through the kind
// library, loads images into them, and runs commands on their nodes.
package kindcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	"sigs.k8s.io/kind/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework"
)

// Cluster is one kind cluster by name.
type Cluster struct {
	Name     string
	provider *cluster.Provider
	// Decision says what the last Up did and why (reused, created, replaced because …),
	// for the report.
	Decision string
}

// New returns a handle on the kind cluster called name, using Docker.
func New(name string, logger log.Logger) *Cluster {
	if logger == nil {
		logger = log.NoopLogger{}
	}
	return &Cluster{Name: name, provider: cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(logger))}
}

// CheckDocker returns an error naming the fix when no Docker engine answers.
func CheckDocker() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("docker is not installed: run 'make host' (Debian/Ubuntu as root) or install Docker")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Errorf("no Docker engine answers (%s): run 'make host' or start dockerd", firstLine(string(out)))
	}
	return nil
}

// ParseConfig reads and strictly decodes a kind cluster config file.
func ParseConfig(path string) (*v1alpha4.Cluster, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("kind config %s cannot be read: %w", path, err)
	}
	cfg := &v1alpha4.Cluster{}
	if err := yaml.UnmarshalStrict(raw, cfg); err != nil {
		return nil, fmt.Errorf("kind config %s does not parse: %s; compare it with kind-configs/default.yaml", path, firstLine(err.Error()))
	}
	if cfg.Kind != "Cluster" || cfg.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind config %s has kind %q apiVersion %q, want kind: Cluster, apiVersion: kind.x-k8s.io/v1alpha4", path, cfg.Kind, cfg.APIVersion)
	}
	if len(cfg.Nodes) == 0 {
		cfg.Nodes = []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}}
	}
	return cfg, nil
}

// UpInput names what Up needs.
type UpInput struct {
	ConfigPath     string
	NodeImage      string // empty: kind's default image
	KubeconfigPath string
	WaitForReady   time.Duration
}

// Up reuses a healthy cluster of the same name and shape, or creates one. A
// cluster left unhealthy or of another shape is replaced; a failed creation is
// deleted, so nothing half-built stays behind. It reports whether it created one.
func (c *Cluster) Up(ctx context.Context, in UpInput) (created bool, err error) {
	if err := CheckDocker(); err != nil {
		return false, err
	}
	cfg, err := ParseConfig(in.ConfigPath)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(in.KubeconfigPath), 0o755); err != nil {
		return false, err
	}
	cgroupVersion, err := DockerCgroupVersion()
	if err != nil {
		return false, err
	}
	KubeletOnCgroupV1(cfg, cgroupVersion)
	want, err := identityOf(in.ConfigPath, cfg, in.NodeImage)
	if err != nil {
		return false, err
	}
	exists, err := c.Exists()
	if err != nil {
		return false, err
	}
	if exists {
		// A cluster whose containers were just restarted (the Docker engine came back)
		// answers before its API server is ready, or forbids everything until its RBAC is
		// bootstrapped: give it the readiness wait before calling it unusable.
		var got *Identity
		err := framework.Poll(ctx, 2*time.Second, in.WaitForReady, func() error {
			var err error
			got, err = c.identity(ctx, in.KubeconfigPath)
			return err
		})
		switch {
		case err != nil:
			c.note("kind cluster %s existed but was not usable (%v): replaced", c.Name, err)
		case got == nil:
			return false, fmt.Errorf("kind cluster %s exists but was not created by this suite, so it is not replaced: delete it ('kind delete cluster --name %s') or run against it with E2E_USE_EXISTING_CLUSTER=true", c.Name, c.Name)
		case !got.Equal(want):
			c.note("kind cluster %s had been created with %s; this run asked for %s: replaced", c.Name, got.Differs(want), want.Differs(*got))
		default:
			if err := c.WaitHealthy(ctx, in.KubeconfigPath, len(cfg.Nodes), in.WaitForReady); err == nil {
				c.note("kind cluster %s reused: created from the same kind config and node image", c.Name)
				return false, nil
			} else {
				c.note("kind cluster %s existed but was not usable (%v): replaced", c.Name, err)
			}
		}
		if err := c.Delete(""); err != nil {
			return false, err
		}
	}
	opts := []cluster.CreateOption{
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithKubeconfigPath(in.KubeconfigPath),
		cluster.CreateWithWaitForReady(in.WaitForReady),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	}
	if in.NodeImage != "" {
		opts = append(opts, cluster.CreateWithNodeImage(in.NodeImage))
	}
	if err := c.provider.Create(c.Name, opts...); err != nil {
		if strings.Contains(err.Error(), "already exist") {
			// Another run created it meanwhile: it is not ours to delete.
			return false, fmt.Errorf("kind cluster %s appeared while this run was creating it (another run on this machine?): wait for it, or use another E2E_CLUSTER_NAME", c.Name)
		}
		_ = c.Delete(in.KubeconfigPath)
		return false, fmt.Errorf("creating kind cluster %s failed and was deleted: %s", c.Name, describe(err))
	}
	if err := c.WaitHealthy(ctx, in.KubeconfigPath, len(cfg.Nodes), in.WaitForReady); err != nil {
		return true, err
	}
	if c.Decision == "" {
		c.note("kind cluster %s created from %s", c.Name, in.ConfigPath)
	}
	return true, c.recordIdentity(ctx, in.KubeconfigPath, want)
}

// note records the decision and tells the person watching.
func (c *Cluster) note(format string, args ...any) {
	c.Decision = fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, c.Decision)
}

// client writes the cluster's kubeconfig and returns a client for it.
func (c *Cluster) client(kubeconfig string) (kubernetes.Interface, error) {
	if err := c.provider.ExportKubeConfig(c.Name, kubeconfig, false); err != nil {
		return nil, fmt.Errorf("exporting kubeconfig: %w", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// WaitHealthy waits (within) until the cluster is ready for specs, checking's own nodes (the node containers its kind config made, not
// nodes a run joined and not Node objects someone else added) are Ready and run a ready
// pod of every kube-system DaemonSet, and kube-system's Deployments are available: the
// cluster is ready for specs, not only for kubectl. What else is in the cluster is not
// the suite's to judge, so it cannot make the cluster look unusable (and replaced).
func (c *Cluster) WaitHealthy(ctx context.Context, kubeconfig string, wantNodes int, within time.Duration) error {
	cs, err := c.client(kubeconfig)
	if err != nil {
		return err
	}
	return framework.Poll(ctx, 2*time.Second, within, func() error {
		own, err := c.configuredNodes(ctx)
		if err != nil {
			return err
		}
		if len(own) != wantNodes {
			return fmt.Errorf("%d node containers from the kind config (%v), config wants %d", len(own), own, wantNodes)
		}
		if err := nodesReady(ctx, cs, own); err != nil {
			return err
		}
		return systemWorkloadsAvailable(ctx, cs, own)
	})
}

// configuredNodes names the node containers kind made from the cluster's config: every
// node container but those a run joined (they carry provenance.ContainerLabel).
func (c *Cluster) configuredNodes(ctx context.Context) ([]string, error) {
	all, err := c.Nodes()
	if err != nil {
		return nil, err
	}
	joined, err := c.StampedContainers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		if _, ok := joined[n.String()]; !ok {
			out = append(out, n.String())
		}
	}
	sort.Strings(out)
	return out, nil
}

// systemWorkloadsAvailable: every kube-system DaemonSet has a ready pod on each of the
// given nodes, and every Deployment has all its replicas available.
func systemWorkloadsAvailable(ctx context.Context, cs kubernetes.Interface, nodes []string) error {
	dss, err := cs.AppsV1().DaemonSets(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	var names []string
	for _, ds := range dss.Items {
		names = append(names, ds.Name)
	}
	if err := daemonsReadyOn(names, pods.Items, nodes); err != nil {
		return err
	}
	deps, err := cs.AppsV1().Deployments(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, d := range deps.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.AvailableReplicas < want {
			return fmt.Errorf("Deployment kube-system/%s: %d of %d replicas available", d.Name, d.Status.AvailableReplicas, want)
		}
	}
	return nil
}

// daemonsReadyOn checks each named DaemonSet has a Ready pod on every node.
func daemonsReadyOn(daemonSets []string, pods []corev1.Pod, nodes []string) error {
	ready := map[string]map[string]bool{} // DaemonSet -> node -> a ready pod there
	for i := range pods {
		p := &pods[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.Kind != "DaemonSet" || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				if ready[ref.Name] == nil {
					ready[ref.Name] = map[string]bool{}
				}
				ready[ref.Name][p.Spec.NodeName] = true
			}
		}
	}
	for _, ds := range daemonSets {
		for _, n := range nodes {
			if !ready[ds][n] {
				return fmt.Errorf("DaemonSet kube-system/%s has no ready pod on node %s", ds, n)
			}
		}
	}
	return nil
}

func nodesReady(ctx context.Context, cs kubernetes.Interface, names []string) error {
	for _, name := range names {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		if !NodeReady(n) {
			return fmt.Errorf("node %s is not Ready", name)
		}
	}
	return nil
}

// NodeReady reports the node's Ready condition.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// OutOfService says why a node is not in service: not Ready, or Ready but still carrying
// the not-ready or unreachable taint (the node lifecycle controller lifts them a moment
// after the Ready condition; seen on a loaded 2-node cluster: Ready, still tainted
// not-ready:NoSchedule). nil when it is in service.
func OutOfService(n *corev1.Node) error {
	if !NodeReady(n) {
		return fmt.Errorf("node %s is not Ready", n.Name)
	}
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return fmt.Errorf("node %s is Ready but still carries the taint %s:%s", n.Name, t.Key, t.Effect)
		}
	}
	return nil
}

// Exists reports whether kind knows a cluster of this name.
func (c *Cluster) Exists() (bool, error) {
	names, err := c.provider.List()
	if err != nil {
		return false, fmt.Errorf("listing kind clusters: %w", err)
	}
	return slices.Contains(names, c.Name), nil
}

// Delete deletes the cluster (a no-op when it does not exist).
func (c *Cluster) Delete(kubeconfig string) error {
	return c.provider.Delete(c.Name, kubeconfig)
}

// ExportLogs writes `kind export logs` output to dir.
func (c *Cluster) ExportLogs(dir string) error {
	return c.provider.CollectLogs(c.Name, dir)
}

// Nodes lists the cluster's node containers.
func (c *Cluster) Nodes() ([]nodes.Node, error) {
	return c.provider.ListNodes(c.Name)
}

// Node returns the node container called name.
func (c *Cluster) Node(name string) (nodes.Node, error) {
	all, err := c.Nodes()
	if err != nil {
		return nil, err
	}
	for _, n := range all {
		if n.String() == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("kind cluster %s has no node %s", c.Name, name)
}

// LoadImage copies a local Docker image into every node's containerd, as
// `kind load docker-image` does, skipping nodes that already have it.
func (c *Cluster) LoadImage(image string) error { return c.LoadImageOn(image) }

// LoadImageOn is LoadImage on the named nodes only (every node when none is named): a
// node joined beside another one still joining loads into itself alone.
func (c *Cluster) LoadImageOn(image string, names ...string) error {
	id, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", image).Output()
	if err != nil {
		return fmt.Errorf("image %s is not in the local Docker engine: build it first (make workload-image)", image)
	}
	all, err := c.Nodes()
	if err != nil {
		return err
	}
	var archive []byte
	for _, n := range all {
		if len(names) > 0 && !slices.Contains(names, n.String()) {
			continue
		}
		if got, err := nodeutils.ImageID(n, image); err == nil && got == strings.TrimSpace(string(id)) {
			continue
		}
		if archive == nil {
			if archive, err = exec.Command("docker", "save", image).Output(); err != nil {
				return fmt.Errorf("docker save %s: %w", image, err)
			}
		}
		if err := nodeutils.LoadImageArchive(n, bytes.NewReader(archive)); err != nil {
			return fmt.Errorf("loading %s into node %s: %s", image, n.String(), describe(err))
		}
	}
	return nil
}

// Run runs a command on a node and returns its combined output; the error carries
// the command and its output.
func Run(ctx context.Context, n nodes.Node, stdin []byte, name string, args ...string) (string, error) {
	var out bytes.Buffer
	cmd := n.CommandContext(ctx, name, args...).SetStdout(&out).SetStderr(&out)
	if stdin != nil {
		cmd.SetStdin(bytes.NewReader(stdin))
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("on node %s: %s: %w\n%s", n.String(), kindexec.PrettyCommand(name, args...), err, out.String())
	}
	return out.String(), nil
}

// describe unwraps kind's RunError so a failed command shows its output.
func describe(err error) string {
	if re := kindexec.RunErrorForError(err); re != nil {
		return fmt.Sprintf("%v\ncommand: %s\noutput:\n%s", err, re.PrettyCommand(), re.Output)
	}
	return err.Error()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// IsKind reports whether a node is a kind node (kind sets providerID kind://...).
func IsKind(n *corev1.Node) bool {
	return strings.HasPrefix(n.Spec.ProviderID, "kind://")
}

// ProviderID is the providerID kind gives a node of a cluster: kind://docker/<cluster>/<node>.
func ProviderID(cluster, node string) string { return "kind://docker/" + cluster + "/" + node }

// NameOf is the kind cluster the nodes belong to, read from their providerIDs; false
// unless there are nodes and every one is a node of that one kind cluster.
func NameOf(nodes []corev1.Node) (string, bool) {
	name := ""
	for i := range nodes {
		parts := strings.Split(nodes[i].Spec.ProviderID, "/")
		if !IsKind(&nodes[i]) || len(parts) != 5 || (name != "" && parts[3] != name) {
			return "", false
		}
		name = parts[3]
	}
	return name, name != ""
}
