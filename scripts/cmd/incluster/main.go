// Command incluster runs the suite image as a Job inside the cluster under test and
// copies its results back (make e2e-in-cluster). It applies fixtures/incluster/job.yaml
// with SUITE_IMAGE, WORKLOAD_IMAGE and E2E_LABEL_FILTER (make: LABEL_FILTER) filled in, waits for the runner's
// `done` file, fetches the results tarball through the API's exec, unpacks it into
// $ARTIFACTS/in-cluster, lets the runner exit, and removes the Job's namespace and
// binding. Exit code: the runner's (the suite's).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/scripts/internal/tarball"
)

const (
	manifest  = "fixtures/incluster/job.yaml"
	namespace = "dsconform-runner"
	binding   = "dsconform-runner"
)

func main() {
	cfg, err := framework.ParseConfig("incluster", os.Args[1:])
	if err != nil {
		fail(err.Error())
	}
	suiteImage := os.Getenv("SUITE_IMAGE")
	if suiteImage == "" {
		fail("SUITE_IMAGE is not set: run 'make e2e-in-cluster' (it builds the image first)")
	}
	kubeconfig := cfg.KubeconfigPath()
	c, err := framework.NewClients(kubeconfig)
	if err != nil {
		fail(err.Error())
	}
	ctx := context.Background()
	if !cfg.UseExistingCluster {
		k := kindcluster.New(cfg.ClusterName, nil)
		for _, img := range []string{suiteImage, cfg.WorkloadImage} {
			if err := k.LoadImage(img); err != nil {
				fail(fmt.Sprintf("loading %s into kind cluster %s: %v", img, cfg.ClusterName, err))
			}
		}
	}
	removeRunner(ctx, c.Kube)

	data, err := os.ReadFile(manifest)
	if err != nil {
		fail(err.Error())
	}
	text := strings.NewReplacer("SUITE_IMAGE", suiteImage, "E2E_LABEL_FILTER_VALUE", os.Getenv("E2E_LABEL_FILTER"),
		"value: WORKLOAD_IMAGE", "value: "+cfg.WorkloadImage).Replace(string(data))
	res, err := resources.New(c.Rest)
	if err != nil {
		fail(err.Error())
	}
	keep := os.Getenv("E2E_KEEP_RUNNER") == "true"
	if !keep { // from here on, whatever way this ends, the Job's namespace and binding go
		cleanup = func() { removeRunner(context.Background(), c.Kube) }
	}
	if err := decoder.DecodeEach(ctx, strings.NewReader(text), decoder.CreateHandler(res)); err != nil {
		fail(fmt.Sprintf("applying %s: %v", manifest, err))
	}
	start := time.Now()
	pod, err := waitForPod(ctx, c.Kube)
	if err != nil {
		fail(err.Error())
	}
	say("runner pod %s/%s on node %s; waiting for its done file", namespace, pod, nodeOf(ctx, c.Kube, pod))
	interruptible(ctx, c, pod)

	exec := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := nodeaccess.PodExec(ctx, c.Kube, c.Rest, namespace, pod, "dsconform", append([]string{"/usr/local/bin/suite-runner"}, args...), nil, &out, &errOut)
		return out.String(), err
	}
	lastProgress, fatal := "", ""
	err = framework.Poll(context.Background(), 10*time.Second, 90*time.Minute, func() error {
		if _, err := exec("done"); err == nil {
			return nil
		}
		if p, _ := exec("progress"); strings.TrimSpace(p) != "" && p != lastProgress {
			fmt.Print(p)
			lastProgress = p
		}
		if phase := podPhase(ctx, c.Kube, pod); phase == corev1.PodFailed || phase == corev1.PodSucceeded {
			fatal = fmt.Sprintf("the runner pod ended (%s) without writing its done file: see 'kubectl -n %s logs %s'", phase, namespace, pod)
			return nil
		}
		if at, ok := interruptedAt.Load().(time.Time); ok && time.Since(at) > 5*time.Minute {
			fatal = "the runner did not stop within 5 minutes of the interrupt; its namespace is removed now"
			return nil
		}
		return errors.New("the in-cluster run has not finished")
	})
	if err != nil {
		fatal = err.Error()
	}
	if fatal != "" {
		fail(fatal)
	}
	out := filepath.Join(cfg.Artifacts, "in-cluster")
	_ = os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		fail(err.Error())
	}
	var tgz, errOut bytes.Buffer
	if err := nodeaccess.PodExec(ctx, c.Kube, c.Rest, namespace, pod, "dsconform", []string{"/usr/local/bin/suite-runner", "tarball"}, nil, &tgz, &errOut); err != nil {
		fail(fmt.Sprintf("fetching the results tarball: %v %s", err, errOut.String()))
	}
	if err := os.WriteFile(filepath.Join(out, "e2e.tar.gz"), tgz.Bytes(), 0o644); err != nil {
		fail(err.Error())
	}
	if err := tarball.Unpack(bytes.NewReader(tgz.Bytes()), out); err != nil {
		fail("unpacking the results: " + err.Error())
	}
	_, _ = exec("collected")
	code := waitForExit(ctx, c.Kube, pod)
	say("in-cluster run took %.0fs; results in %s", time.Since(start).Seconds(), out)
	if log, err := os.ReadFile(filepath.Join(out, "e2e.log")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(log)), "\n")
		if len(lines) > 2 {
			lines = lines[len(lines)-2:]
		}
		fmt.Println(strings.Join(lines, "\n"))
	}
	cleanup() // os.Exit skips deferred calls
	if sig, ok := interrupted.Load().(os.Signal); ok {
		say("interrupted (%v): the results cover the specs that finished", sig)
		code = map[bool]int{true: 143, false: 130}[sig == syscall.SIGTERM]
	}
	os.Exit(code)
}

// cleanup removes the runner (unless E2E_KEEP_RUNNER=true) once it has been created.
var cleanup = func() {}

// interruptible makes Ctrl-C (or SIGTERM) stop the run inside the cluster too: the
// runner is asked to stop, so its specs undo what they changed on the nodes and it writes
// the results of what finished, which are then collected as usual (the run's exit code
// becomes 130/143). A runner that has not finished 5 minutes later is given up on.
func interruptible(ctx context.Context, c *framework.Clients, pod string) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-signals
		say("%v: stopping the in-cluster run (its specs clean up first; up to 5 minutes)", sig)
		interrupted.Store(sig)
		interruptedAt.Store(time.Now())
		var out, errOut bytes.Buffer
		if err := nodeaccess.PodExec(ctx, c.Kube, c.Rest, namespace, pod, "dsconform", []string{"/usr/local/bin/suite-runner", "stop"}, nil, &out, &errOut); err != nil {
			say("asking the runner to stop: %v %s", err, errOut.String())
		}
	}()
}

// interrupted holds the signal that interrupted the launcher, interruptedAt when.
var interrupted, interruptedAt atomic.Value

func waitForPod(ctx context.Context, c kubernetes.Interface) (string, error) {
	var name string
	err := framework.Poll(ctx, 2*time.Second, 5*time.Minute, func() error {
		pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=dsconform"})
		if err != nil || len(pods.Items) == 0 {
			return fmt.Errorf("no pod yet (%v)", err)
		}
		p := pods.Items[0]
		if p.Status.Phase == corev1.PodRunning {
			name = p.Name
			return nil
		}
		last := string(p.Status.Phase)
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Waiting != nil {
				last += ": " + s.State.Waiting.Reason + " " + s.State.Waiting.Message
			}
		}
		return errors.New(last)
	})
	if err != nil {
		return "", fmt.Errorf("the runner pod did not start (%v); the suite image must be pullable by the nodes", err)
	}
	return name, nil
}

func podPhase(ctx context.Context, c kubernetes.Interface, pod string) corev1.PodPhase {
	p, err := c.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return p.Status.Phase
}

func nodeOf(ctx context.Context, c kubernetes.Interface, pod string) string {
	p, err := c.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "?"
	}
	return p.Spec.NodeName
}

// waitForExit returns the runner container's exit code once it has terminated.
func waitForExit(ctx context.Context, c kubernetes.Interface, pod string) int {
	code := 1
	err := framework.Poll(ctx, 2*time.Second, 2*time.Minute, func() error {
		p, err := c.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, s := range p.Status.ContainerStatuses {
			if t := s.State.Terminated; t != nil {
				code = int(t.ExitCode)
				return nil
			}
		}
		return errors.New("the runner container is still running")
	})
	if err != nil {
		say("after collection: %v", err)
	}
	return code
}

// removeRunner deletes what a run of the Job creates (also a previous run's).
func removeRunner(ctx context.Context, c kubernetes.Interface) {
	_ = c.RbacV1().ClusterRoleBindings().Delete(ctx, binding, metav1.DeleteOptions{})
	err := c.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return
	}
	if err := framework.Poll(ctx, 2*time.Second, 3*time.Minute, func() error {
		if _, err := c.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s is still terminating", namespace)
		}
		return nil
	}); err != nil {
		say("%v", err)
	}
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error:", msg)
	cleanup()
	os.Exit(1)
}
