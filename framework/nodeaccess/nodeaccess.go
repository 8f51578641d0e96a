// Package nodeaccess is the suite's one way onto a node's host: its files, processes
// and services. Two ways in:
//
//   - Kind: docker exec into a kind node container (kind clusters only).
//   - Agents: a privileged agent pod per node (host PID and network, in the suite's own
//     namespace, created on first use and removed at the end), reached through the API
//     server's exec: works on any cluster whose user may create privileged pods. The
//     agent runs the workload image's "host" mode, which enters the node's root file
//     system (/proc/1/root) before running the command.
//
// Specs get a Node and never care which way it came.
package nodeaccess

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
)

// Node runs commands on one node's host. Output is stdout and stderr together; a
// command that exits non-zero returns an error (and the output it did print).
type Node interface {
	Name() string
	Run(ctx context.Context, stdin []byte, name string, args ...string) (string, error)
}

// Kind is a kind node reached through docker exec.
func Kind(n nodes.Node) Node { return kindNode{n} }

type kindNode struct{ n nodes.Node }

func (k kindNode) Name() string { return k.n.String() }
func (k kindNode) Run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	return kindcluster.Run(ctx, k.n, stdin, name, args...)
}

// AgentLabel marks agent pods (and their namespace), so a leak check or the next run's
// sweep finds them whichever run created them.
const AgentLabel = "dsconform.e2e/node-agent"

// Agents makes and reaches the agent pods of one run, in one namespace.
type Agents struct {
	Client    kubernetes.Interface
	Rest      *rest.Config
	Namespace string // must exist; the suite creates and deletes it
	Image     string // the workload image: its "host" mode enters the node
	Timeout   time.Duration

	mu   sync.Mutex
	pods map[string]string // node -> ready agent pod
}

// Node returns the node reached through its agent pod, creating the pod on first use
// and waiting until it runs.
func (a *Agents) Node(ctx context.Context, node string) (Node, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pods == nil {
		a.pods = map[string]string{}
	}
	if p, ok := a.pods[node]; ok {
		return agentNode{a: a, node: node, pod: p}, nil
	}
	pod := AgentPod(a.Namespace, node, a.Image)
	_, err := a.Client.CoreV1().Pods(a.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) { // another process of the run made it
		return nil, fmt.Errorf("creating node agent pod %s/%s on node %s: %w", a.Namespace, pod.Name, node, err)
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, time.Second, a.Timeout, true, func(ctx context.Context) (bool, error) {
		p, err := a.Client.CoreV1().Pods(a.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = string(p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if c.State.Waiting != nil {
				last += ": " + c.State.Waiting.Reason
			}
		}
		return p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		return nil, fmt.Errorf("node agent pod %s/%s on node %s did not run within %s (last seen: %s): it needs a privileged pod with host PID and network on that node", a.Namespace, pod.Name, node, a.Timeout, last)
	}
	a.pods[node] = pod.Name
	return agentNode{a: a, node: node, pod: pod.Name}, nil
}

// AgentPod is the agent pod for a node: bound to it by name (no scheduler involved),
// tolerating every taint, privileged with the host's PID and network namespaces.
func AgentPod(namespace, node, image string) *corev1.Pod {
	zero := int64(0)
	privileged := true
	name := "agent-" + node
	if len(name) > 63 {
		name = name[:63]
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: strings.TrimRight(name, "-."), Namespace: namespace, Labels: map[string]string{AgentLabel: "true"}},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			HostPID:                       true,
			HostNetwork:                   true,
			TerminationGracePeriodSeconds: &zero,
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name: "agent", Image: image, ImagePullPolicy: corev1.PullIfNotPresent, Args: []string{"sleep"},
				SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
			}},
		},
	}
}

type agentNode struct {
	a         *Agents
	node, pod string
}

func (n agentNode) Name() string { return n.node }

func (n agentNode) Run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.a.Timeout)
	defer cancel()
	cmd := append([]string{"/usr/local/bin/workload", "host", name}, args...)
	var buf bytes.Buffer
	out := &framework.SyncWriter{W: &buf} // stdout and stderr come from two goroutines
	var in io.Reader
	if stdin != nil {
		in = bytes.NewReader(stdin)
	}
	if err := PodExec(ctx, n.a.Client, n.a.Rest, n.a.Namespace, n.pod, "agent", cmd, in, out, out); err != nil {
		return buf.String(), fmt.Errorf("%s on node %s (through agent pod %s): %w", strings.Join(append([]string{name}, args...), " "), n.node, n.pod, err)
	}
	return buf.String(), nil
}

// PodExec runs cmd in a pod's container through the API server's exec (WebSocket,
// falling back to SPDY), streaming stdin (may be nil), stdout and stderr.
func PodExec(ctx context.Context, c kubernetes.Interface, rc *rest.Config, ns, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := c.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: cmd, Stdin: stdin != nil, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(rc, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(rc, "POST", req.URL())
	if err != nil {
		return err
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}
