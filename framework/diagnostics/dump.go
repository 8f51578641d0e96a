// Package diagnostics writes what a person needs to understand a failed spec into
// its artifacts folder: objects as YAML, events, pod logs, node labels and taints.
package diagnostics

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// Writer collects errors instead of failing: a dump must never hide the failure
// it documents, so every problem is written into errors.txt instead.
type Writer struct {
	Dir  string
	errs []string
}

func (w *Writer) errorf(format string, args ...any) {
	w.errs = append(w.errs, fmt.Sprintf(format, args...))
}

// YAML writes objects to name.yaml.
func (w *Writer) YAML(name string, obj any) {
	if u, ok := obj.(runtime.Object); ok {
		obj = u.DeepCopyObject()
	}
	data, err := yaml.Marshal(obj)
	if err != nil {
		w.errorf("%s: %v", name, err)
		return
	}
	w.File(name+".yaml", data)
}

// File writes raw content.
func (w *Writer) File(name string, data []byte) {
	if err := os.MkdirAll(w.Dir, 0o755); err != nil {
		w.errorf("%s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(w.Dir, name), data, 0o644); err != nil {
		w.errorf("%s: %v", name, err)
	}
}

// Close writes errors.txt if anything could not be collected.
func (w *Writer) Close() {
	if len(w.errs) > 0 {
		w.File("errors.txt", []byte(strings.Join(w.errs, "\n")+"\n"))
	}
}

// Namespace dumps the namespace's DaemonSets, ControllerRevisions, pods, events
// (oldest first) and the last lines of every container's log.
func (w *Writer) Namespace(ctx context.Context, c kubernetes.Interface, ns string) {
	if dss, err := c.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{}); err != nil {
		w.errorf("daemonsets: %v", err)
	} else {
		w.YAML("daemonsets", dss)
	}
	if revs, err := c.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{}); err == nil {
		w.YAML("controllerrevisions", revs)
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		w.errorf("pods: %v", err)
	} else {
		w.YAML("pods", pods)
		w.podLogs(ctx, c, pods.Items)
	}
	w.Events(ctx, c, ns)
}

// Events writes the namespace's events as one readable line each.
func (w *Writer) Events(ctx context.Context, c kubernetes.Interface, ns string) {
	evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		w.errorf("events: %v", err)
		return
	}
	var b strings.Builder
	for _, e := range evs.Items {
		fmt.Fprintf(&b, "%s %s %s/%s %s: %s (x%d, from %s %s)\n", e.LastTimestamp.Format("15:04:05"), e.Type,
			e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message, e.Count, e.Source.Component, e.Source.Host)
	}
	w.File("events-"+ns+".txt", []byte(b.String()))
}

func (w *Writer) podLogs(ctx context.Context, c kubernetes.Interface, pods []corev1.Pod) {
	tail := int64(200)
	for _, p := range pods {
		for _, ctr := range p.Spec.Containers {
			rc, err := c.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ctr.Name, TailLines: &tail}).Stream(ctx)
			if err != nil {
				continue // not started yet: the pod YAML says why
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			w.File(fmt.Sprintf("logs-%s-%s.txt", p.Name, ctr.Name), data)
		}
	}
}

// Nodes writes every node's labels, taints, unschedulable flag and conditions in a
// compact form, and the full objects.
func (w *Writer) Nodes(ctx context.Context, c kubernetes.Interface) {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		w.errorf("nodes: %v", err)
		return
	}
	type summary struct {
		Name          string            `json:"name"`
		Unschedulable bool              `json:"unschedulable,omitempty"`
		Taints        []corev1.Taint    `json:"taints,omitempty"`
		Labels        map[string]string `json:"labels"`
		Conditions    map[string]string `json:"conditions"`
	}
	var out []summary
	for _, n := range nodes.Items {
		s := summary{Name: n.Name, Unschedulable: n.Spec.Unschedulable, Taints: n.Spec.Taints, Labels: n.Labels, Conditions: map[string]string{}}
		for _, cond := range n.Status.Conditions {
			s.Conditions[string(cond.Type)] = string(cond.Status)
		}
		out = append(out, s)
	}
	w.YAML("nodes-summary", out)
	w.YAML("nodes", nodes)
}

// Collect writes a failed spec's diagnostics into dir: its namespaces, the nodes, and
// what the spec's family adds (extra).
func Collect(ctx context.Context, dir string, c kubernetes.Interface, namespaces []string, extra ...func(context.Context, *Writer)) {
	w := &Writer{Dir: dir}
	defer w.Close()
	for _, ns := range namespaces {
		w.Namespace(ctx, c, ns)
	}
	w.Nodes(ctx, c)
	for _, dump := range extra {
		dump(ctx, w)
	}
}
