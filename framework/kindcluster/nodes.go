package kindcluster

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/provenance"
)

// AddWorkerInput names what AddWorker needs.
type AddWorkerInput struct {
	Name   string   // container and node name
	Run    string   // the run's ID: the container and the Node are stamped with it (required)
	Taints []string // "key=value:Effect" taints the node registers with; none unless given
	Labels []string // "key=value" labels the node registers with, besides the stamp
}

// AddWorker does what kind does when it creates a worker, on a running cluster:
// it starts a node container from the cluster's node image with kind's labels,
// network and mounts, then joins it with kubeadm using a fresh token made on the
// control plane. It returns once kubeadm join succeeded; the caller waits for Ready.
// On failure the container is removed, so nothing half-built stays.
//
// The node registers with exactly the taints and labels asked for: whatever the copied
// worker's configuration registered that worker with is replaced. The container carries
// provenance.ContainerLabel and the Node provenance.JoinedLabel, both valued with the
// run's ID, from the moment each exists.
func (c *Cluster) AddWorker(ctx context.Context, in AddWorkerInput) (err error) {
	if in.Run == "" || in.Name == "" {
		return fmt.Errorf("AddWorker: Name and Run are required (got %q, %q)", in.Name, in.Run)
	}
	in.Labels = append([]string{provenance.JoinedLabel + "=" + in.Run}, in.Labels...)
	all, err := c.Nodes()
	if err != nil {
		return err
	}
	// The configuration is copied from a worker kind made, never from one the suite
	// joined: another may be joining right now, its configuration not yet written.
	joined, err := c.StampedContainers(ctx)
	if err != nil {
		return err
	}
	var template, cp nodes.Node
	for _, n := range all {
		switch role, _ := n.Role(); role {
		case "worker":
			if _, ours := joined[n.String()]; !ours {
				template = n
			}
		case "control-plane":
			cp = n
		}
	}
	if template == nil || cp == nil {
		return fmt.Errorf("kind cluster %s needs a control plane and a worker made by kind to copy from", c.Name)
	}
	image, err := docker(ctx, "inspect", "-f", "{{.Config.Image}}", template.String())
	if err != nil {
		return err
	}
	if _, err := docker(ctx, "run", "--detach", "--tty", "--privileged",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--security-opt", "label=disable",
		"--tmpfs", "/tmp", "--tmpfs", "/run", "--volume", "/var", "--volume", "/lib/modules:/lib/modules:ro",
		"-e", "KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER", "--label", "io.x-k8s.kind.cluster="+c.Name, "--label", "io.x-k8s.kind.role=worker", "--label", provenance.ContainerLabel+"="+in.Run,
		"--net", "kind", "--restart=on-failure:1", "--init=false", "--cgroupns=private",
		"--hostname", in.Name, "--name", in.Name, image); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = docker(context.Background(), "rm", "-f", "-v", in.Name)
		}
	}()
	n, err := c.Node(in.Name)
	if err != nil {
		return err
	}
	if err := framework.Poll(ctx, time.Second, time.Minute, func() error { // a node container boots in seconds
		_, err := Run(ctx, n, nil, "systemctl", "is-active", "--quiet", "containerd")
		return err
	}); err != nil {
		return fmt.Errorf("containerd did not start on new node %s: %w", in.Name, err)
	}
	ip, err := docker(ctx, "inspect", "-f", "{{.NetworkSettings.Networks.kind.IPAddress}}", in.Name)
	if err != nil {
		return err
	}
	token, err := Run(ctx, cp, nil, "kubeadm", "token", "create", "--ttl", "15m")
	if err != nil {
		return fmt.Errorf("creating a join token on %s: %w", cp, err)
	}
	conf, err := Run(ctx, template, nil, "cat", "/kind/kubeadm.conf")
	if err != nil {
		return err
	}
	conf, err = joinConfigFor(conf, template.String(), in, strings.TrimSpace(ip), strings.TrimSpace(token), c.Name)
	if err != nil {
		return err
	}
	if _, err := Run(ctx, n, []byte(conf), "sh", "-c", "cat >/kind/kubeadm.conf"); err != nil {
		return err
	}
	if _, err := Run(ctx, n, nil, "kubeadm", "join", "--config", "/kind/kubeadm.conf", "--skip-phases=preflight", "--v=2"); err != nil {
		return fmt.Errorf("kubeadm join of %s failed: %w", in.Name, err)
	}
	return nil
}

// joinConfigFor rewrites an existing worker's kind kubeadm config for a new node:
// its IP, provider ID, a fresh token, and the labels and taints it joins with.
// It understands kubeadm v1beta3 (kubeletExtraArgs a map, kind for <= 1.35) and
// v1beta4 (a list of {name, value}, kind for >= 1.36). Documents other than the
// JoinConfiguration are kept as they are, the KubeletConfiguration included
// (failCgroupV1 and the rest carry over).
func joinConfigFor(conf, fromNode string, in AddWorkerInput, ip, token, cluster string) (string, error) {
	docs := strings.Split(conf, "\n---\n")
	found := false
	for i, doc := range docs {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return "", fmt.Errorf("the kubeadm config of %s does not parse: %w", fromNode, err)
		}
		if obj["kind"] != "JoinConfiguration" {
			continue
		}
		found = true
		if err := rewriteJoin(obj, in, ip, token, ProviderID(cluster, in.Name)); err != nil {
			return "", fmt.Errorf("the kubeadm config of %s: %w", fromNode, err)
		}
		out, err := yaml.Marshal(obj)
		if err != nil {
			return "", err
		}
		docs[i] = strings.TrimSuffix(string(out), "\n")
	}
	if !found {
		return "", fmt.Errorf("the kubeadm config of %s has no JoinConfiguration", fromNode)
	}
	return strings.Join(docs, "\n---\n"), nil
}

func rewriteJoin(obj map[string]any, in AddWorkerInput, ip, token, providerID string) error {
	disc, _ := obj["discovery"].(map[string]any)
	bt, _ := disc["bootstrapToken"].(map[string]any)
	if bt == nil {
		return fmt.Errorf("JoinConfiguration has no discovery.bootstrapToken")
	}
	bt["token"] = token
	reg, _ := obj["nodeRegistration"].(map[string]any)
	if reg == nil {
		return fmt.Errorf("JoinConfiguration has no nodeRegistration")
	}
	args := map[string]string{"node-ip": ip, "provider-id": providerID, "node-labels": strings.Join(in.Labels, ",")}
	switch cur := reg["kubeletExtraArgs"].(type) {
	case []any: // v1beta4
		seen := map[string]bool{}
		for _, e := range cur {
			arg, _ := e.(map[string]any)
			name, _ := arg["name"].(string)
			if v, ok := args[name]; ok {
				arg["value"], seen[name] = v, true
			}
		}
		for _, name := range []string{"node-ip", "provider-id", "node-labels"} {
			if !seen[name] {
				cur = append(cur, map[string]any{"name": name, "value": args[name]})
			}
		}
		reg["kubeletExtraArgs"] = cur
	case map[string]any: // v1beta3
		for k, v := range args {
			cur[k] = v
		}
	case nil:
		m := map[string]any{}
		for k, v := range args {
			m[k] = v
		}
		reg["kubeletExtraArgs"] = m
	default:
		return fmt.Errorf("nodeRegistration.kubeletExtraArgs is a %T, neither v1beta3's map nor v1beta4's list", cur)
	}
	{
		// kubeadm's taints field replaces the copied worker's (an empty list means none):
		// the node registers with exactly these.
		taints := []any{}
		for _, t := range in.Taints {
			kv, effect, ok := strings.Cut(t, ":")
			if !ok {
				return fmt.Errorf("taint %q is not key=value:Effect", t)
			}
			key, value, _ := strings.Cut(kv, "=")
			taints = append(taints, map[string]any{"key": key, "value": value, "effect": effect})
		}
		reg["taints"] = taints
	}
	delete(obj, "controlPlane")
	return nil
}

// StopNode stops a node container, as a machine that loses power: its kubelet
// stops reporting and the node goes NotReady.
func (c *Cluster) StopNode(ctx context.Context, name string) error {
	_, err := docker(ctx, "stop", "--time", "1", name)
	return err
}

// RemoveNode deletes a node container (the caller deletes the Node object).
func (c *Cluster) RemoveNode(ctx context.Context, name string) error {
	_, err := docker(ctx, "rm", "-f", "-v", name)
	return err
}

func docker(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// StampedContainers maps each node container of the cluster that carries
// provenance.ContainerLabel (a node the suite joined) to the run that started it.
func (c *Cluster) StampedContainers(ctx context.Context) (map[string]string, error) {
	out, err := docker(ctx, "ps", "-a", "--filter", "label=io.x-k8s.kind.cluster="+c.Name, "--filter", "label="+provenance.ContainerLabel,
		"--format", `{{.Names}} {{.Label "`+provenance.ContainerLabel+`"}}`)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if name, run, ok := strings.Cut(strings.TrimSpace(l), " "); ok && run != "" {
			m[name] = run
		}
	}
	return m, nil
}

// UnstampedLookAlikes names the cluster's node containers that are named like the nodes
// the suite joins but carry no stamp: the sweep leaves them alone and says so.
func (c *Cluster) UnstampedLookAlikes(ctx context.Context) ([]string, error) {
	unstamped, err := c.configuredNodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range unstamped {
		if provenance.LooksLikeJoinedName(name) {
			out = append(out, name)
		}
	}
	return out, nil
}
