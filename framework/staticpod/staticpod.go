// Package staticpod drives static pods the way an operator does: it finds the
// kubelet's manifest directory from the kubelet's own command line and config
// file on the node, and writes, edits and removes manifest files there.
package staticpod

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/dsconform/dsconform/framework/nodeaccess"
)

// ManifestDirFrom works out the static pod directory from the kubelet's argv:
// --pod-manifest-path wins; otherwise staticPodPath in the file named by --config.
func ManifestDirFrom(argv []string, readFile func(string) ([]byte, error)) (string, error) {
	var configFile string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		for _, name := range []string{"--pod-manifest-path", "--config"} {
			var v string
			switch {
			case strings.HasPrefix(a, name+"="):
				v = strings.TrimPrefix(a, name+"=")
			case a == name && i+1 < len(argv):
				v = argv[i+1]
			default:
				continue
			}
			if name == "--pod-manifest-path" && v != "" {
				return v, nil
			}
			configFile = v
		}
	}
	if configFile == "" {
		return "", fmt.Errorf("the kubelet has neither --pod-manifest-path nor --config on its command line: %q", strings.Join(argv, " "))
	}
	raw, err := readFile(configFile)
	if err != nil {
		return "", fmt.Errorf("reading the kubelet config %s: %w", configFile, err)
	}
	var kc struct {
		StaticPodPath string `json:"staticPodPath"`
	}
	if err := yaml.Unmarshal(raw, &kc); err != nil {
		return "", fmt.Errorf("the kubelet config %s does not parse: %w", configFile, err)
	}
	if kc.StaticPodPath == "" {
		return "", fmt.Errorf("the kubelet config %s sets no staticPodPath: static pods from files are disabled on this node", configFile)
	}
	return kc.StaticPodPath, nil
}

// ManifestDirFromConfigz reads staticPodPath from the kubelet's configz answer
// (GET /api/v1/nodes/<node>/proxy/configz): the kubelet's own account of its config.
func ManifestDirFromConfigz(raw []byte) (string, error) {
	var cz struct {
		KubeletConfig *struct {
			StaticPodPath string `json:"staticPodPath"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(raw, &cz); err != nil {
		return "", fmt.Errorf("configz does not parse: %v", err)
	}
	if cz.KubeletConfig == nil {
		return "", fmt.Errorf("configz has no kubeletconfig object: %.80q", raw)
	}
	return cz.KubeletConfig.StaticPodPath, nil
}

// ManifestDir reads the running kubelet's command line and config on the node.
func ManifestDir(ctx context.Context, n nodeaccess.Node) (string, error) {
	out, err := n.Run(ctx, nil, "sh", "-c", `tr '\0' '\n' </proc/$(pgrep -xo kubelet)/cmdline`)
	if err != nil {
		return "", fmt.Errorf("reading the kubelet's command line: %w", err)
	}
	argv := strings.Split(strings.TrimSpace(out), "\n")
	return ManifestDirFrom(argv, func(p string) ([]byte, error) {
		s, err := n.Run(ctx, nil, "cat", p)
		return []byte(s), err
	})
}

// MirrorName is the mirror pod's name: the static pod's name, a dash, the node's name.
func MirrorName(pod, node string) string { return pod + "-" + node }

// KubeletView is what the node says about its static pods, for diagnostics.
func KubeletView(ctx context.Context, n nodeaccess.Node, dir string) string {
	var b strings.Builder
	for _, c := range []string{
		"ls -la " + dir,
		"for f in " + dir + "/*; do echo \"--- $f\"; cat \"$f\"; done",
		"crictl pods",
		"crictl ps -a",
		"journalctl -u kubelet --no-pager -n 150",
	} {
		out, err := n.Run(ctx, nil, "sh", "-c", c)
		fmt.Fprintf(&b, "$ %s\n%s", c, out)
		if err != nil {
			fmt.Fprintf(&b, "(error: %v)\n", err)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ContainerRunning reports whether the container with the CRI container ID
// ("<runtime>://<id>", as a pod's status gives it) runs on the node, asking the runtime
// through the CRI (crictl), so it works with any CRI runtime. A container the runtime no
// longer knows is not running; an answer that does not parse is an error, never "not
// running".
func ContainerRunning(ctx context.Context, n nodeaccess.Node, containerID string) (bool, error) {
	id, err := runtimeID(n, containerID)
	if err != nil {
		return false, err
	}
	out, err := n.Run(ctx, nil, "crictl", "inspect", "-o", "json", id)
	if err != nil {
		if strings.Contains(out, "NotFound") {
			return false, nil
		}
		return false, fmt.Errorf("crictl inspect %s on node %s: %v: %s", id, n.Name(), err, firstLine(out))
	}
	return containerRunning(out)
}

// ContainerLogs is what the container with the CRI container ID has written, read from
// the runtime on the node (crictl logs): it answers also while the kubelet no longer
// serves the pod's logs, as for a static pod whose manifest is gone.
func ContainerLogs(ctx context.Context, n nodeaccess.Node, containerID string) (string, error) {
	id, err := runtimeID(n, containerID)
	if err != nil {
		return "", err
	}
	out, err := n.Run(ctx, nil, "crictl", "logs", id)
	if err != nil {
		return "", fmt.Errorf("crictl logs %s on node %s: %v: %s", id, n.Name(), err, firstLine(out))
	}
	return out, nil
}

// KillContainer sends SIGKILL to the main process of the container with the CRI
// container ID (its PID from crictl inspect), as a crash would end it; the kubelet then
// decides what happens next.
func KillContainer(ctx context.Context, n nodeaccess.Node, containerID string) error {
	id, err := runtimeID(n, containerID)
	if err != nil {
		return err
	}
	out, err := n.Run(ctx, nil, "sh", "-c", "kill -KILL $(crictl inspect -o go-template --template '{{.info.pid}}' "+id+")")
	if err != nil {
		return fmt.Errorf("killing the process of container %s on node %s: %v: %s", id, n.Name(), err, firstLine(out))
	}
	return nil
}

// ContainerPID is the host PID (in the node's PID namespace) of the main process of the
// container with the CRI container ID, as the runtime reports it (crictl inspect).
func ContainerPID(ctx context.Context, n nodeaccess.Node, containerID string) (int, error) {
	id, err := runtimeID(n, containerID)
	if err != nil {
		return 0, err
	}
	out, err := n.Run(ctx, nil, "crictl", "inspect", "-o", "go-template", "--template", "{{.info.pid}}", id)
	if err != nil {
		return 0, fmt.Errorf("crictl inspect %s on node %s: %v: %s", id, n.Name(), err, firstLine(out))
	}
	return parsePID(out)
}

// ProcessAlive reports whether the process with the host PID runs on the node, asking
// the node's kernel (/proc), not the runtime: it answers while the runtime is down.
func ProcessAlive(ctx context.Context, n nodeaccess.Node, pid int) (bool, error) {
	out, err := n.Run(ctx, nil, "sh", "-c", fmt.Sprintf("if test -d /proc/%d; then echo alive; else echo gone; fi", pid))
	if err != nil {
		return false, fmt.Errorf("looking for process %d on node %s: %v: %s", pid, n.Name(), err, firstLine(out))
	}
	switch lastLine(out) {
	case "alive":
		return true, nil
	case "gone":
		return false, nil
	}
	return false, fmt.Errorf("looking for process %d on node %s: unexpected answer %q", pid, n.Name(), firstLine(out))
}

// parsePID reads the PID crictl prints last (after any log lines); 0 is no process.
func parsePID(out string) (int, error) {
	pid, err := strconv.Atoi(lastLine(out))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("unexpected `crictl inspect` PID %q", lastLine(out))
	}
	return pid, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Container is a container the runtime runs for a pod, as the CRI names it.
type Container struct {
	Name string // the container's name in the pod spec
	ID   string // the runtime's own ID (without "<runtime>://")
}

// RunningContainers lists the running containers of the pod the kubelet runs as podName
// in namespace ns (a static pod's is "<name>-<node>"), asking the runtime through the CRI
// (crictl ps): it answers while the kubelet cannot reach the API server.
func RunningContainers(ctx context.Context, n nodeaccess.Node, ns, podName string) ([]Container, error) {
	out, err := n.Run(ctx, nil, "crictl", "ps", "-o", "json", "--state", "Running",
		"--label", "io.kubernetes.pod.namespace="+ns, "--label", "io.kubernetes.pod.name="+podName)
	if err != nil {
		return nil, fmt.Errorf("crictl ps on node %s: %v: %s", n.Name(), err, firstLine(out))
	}
	return parseContainers(out)
}

// parseContainers reads `crictl ps -o json` output (which may follow log lines).
func parseContainers(out string) ([]Container, error) {
	i := strings.Index(out, "{")
	if i < 0 {
		return nil, fmt.Errorf("unexpected `crictl ps` output: %q", firstLine(out))
	}
	var v struct {
		Containers []struct {
			ID       string `json:"id"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"containers"`
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&v); err != nil {
		return nil, fmt.Errorf("unexpected `crictl ps` output: %v: %q", err, firstLine(out[i:]))
	}
	var cs []Container
	for _, c := range v.Containers {
		cs = append(cs, Container{Name: c.Metadata.Name, ID: c.ID})
	}
	return cs, nil
}

// RuntimeID is the runtime's own ID in a pod status's "<runtime>://<id>" ("" if none).
func RuntimeID(containerID string) string {
	_, id, _ := strings.Cut(containerID, "://")
	return id
}

// runtimeID is the runtime's own ID in a pod status's "<runtime>://<id>".
func runtimeID(n nodeaccess.Node, containerID string) (string, error) {
	id := RuntimeID(containerID)
	if id == "" {
		return "", fmt.Errorf("no container ID to look for on node %s (got %q)", n.Name(), containerID)
	}
	return id, nil
}

// containerRunning reads `crictl inspect -o json` output (which may follow log lines).
func containerRunning(out string) (bool, error) {
	i := strings.Index(out, "{")
	if i < 0 {
		return false, fmt.Errorf("unexpected `crictl inspect` output: %q", firstLine(out))
	}
	var v struct {
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(&v); err != nil || v.Status.State == "" {
		return false, fmt.Errorf("unexpected `crictl inspect` output (no status.state): %q", firstLine(out[i:]))
	}
	return v.Status.State == "CONTAINER_RUNNING", nil
}

func firstLine(s string) string { return strings.SplitN(strings.TrimSpace(s), "\n", 2)[0] }

// CheckMirror says what, if anything, keeps p from being the running mirror pod of a
// static pod on node nodeName: the kubelet's hash annotations (config.hash set,
// config.mirror equal to it), the node, not being deleted, phase Running with a
// container status. Replacing, when not empty, is the UID of an earlier mirror that p
// must not be (a deleted mirror lingers, terminating, until the kubelet recreates it).
// What else the documentation promises of a mirror is CheckMirrorContract's, so that a
// fault in that contract fails the specs about it, not every static pod spec.
func CheckMirror(p *corev1.Pod, nodeName string, replacing types.UID) error {
	hash := p.Annotations["kubernetes.io/config.hash"]
	switch {
	case replacing != "" && p.UID == replacing:
		return fmt.Errorf("mirror pod %s on node %s is still the earlier one (UID %s)", p.Name, nodeName, p.UID)
	case p.DeletionTimestamp != nil:
		return fmt.Errorf("mirror pod %s on node %s is being deleted (since %s)", p.Name, nodeName, p.DeletionTimestamp)
	case hash == "":
		return fmt.Errorf("mirror pod %s on node %s has no kubernetes.io/config.hash annotation", p.Name, nodeName)
	case p.Annotations["kubernetes.io/config.mirror"] != hash:
		return fmt.Errorf("mirror pod %s on node %s: kubernetes.io/config.mirror %q must equal config.hash %q", p.Name, nodeName, p.Annotations["kubernetes.io/config.mirror"], hash)
	case p.Spec.NodeName != nodeName:
		return fmt.Errorf("mirror pod %s: spec.nodeName is %q, want %s", p.Name, p.Spec.NodeName, nodeName)
	case p.Status.Phase != corev1.PodRunning || len(p.Status.ContainerStatuses) == 0:
		return fmt.Errorf("mirror pod %s on node %s: phase %s with %d container statuses, want Running with its containers", p.Name, nodeName, p.Status.Phase, len(p.Status.ContainerStatuses))
	}
	return nil
}

// CheckMirrorContract says what, if anything, breaks the documented contract of the
// mirror pod p of a static pod on node n: kubernetes.io/config.source is file (the
// file source, not the API), and exactly one owner reference, to this very Node (v1,
// its name and UID) as controller.
func CheckMirrorContract(p *corev1.Pod, n *corev1.Node) error {
	switch {
	case p.Annotations["kubernetes.io/config.source"] != "file":
		return fmt.Errorf("mirror pod %s on node %s: kubernetes.io/config.source is %q, want file", p.Name, n.Name, p.Annotations["kubernetes.io/config.source"])
	case len(p.OwnerReferences) != 1:
		return fmt.Errorf("mirror pod %s on node %s has %d owner references, want exactly one (the Node): %v", p.Name, n.Name, len(p.OwnerReferences), p.OwnerReferences)
	}
	o := p.OwnerReferences[0]
	switch {
	case o.APIVersion != "v1" || o.Kind != "Node" || o.Name != n.Name:
		return fmt.Errorf("mirror pod %s is owned by %s %s %s, want v1 Node %s", p.Name, o.APIVersion, o.Kind, o.Name, n.Name)
	case o.UID != n.UID:
		return fmt.Errorf("mirror pod %s: its Node owner reference has UID %s, but node %s is %s", p.Name, o.UID, n.Name, n.UID)
	case o.Controller == nil || !*o.Controller:
		return fmt.Errorf("mirror pod %s: the Node owner reference must be controller: true", p.Name)
	}
	return nil
}
