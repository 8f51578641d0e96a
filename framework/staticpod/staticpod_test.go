package staticpod

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestManifestDirFrom(t *testing.T) {
	files := map[string]string{
		"/var/lib/kubelet/config.yaml": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nstaticPodPath: /etc/kubernetes/manifests\n",
		"/etc/kubelet-nostatic.yaml":   "kind: KubeletConfiguration\n",
		"/etc/broken.yaml":             "staticPodPath: [",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}
	cases := []struct {
		name, want, wantErr string
		argv                []string
	}{
		{name: "config file", argv: []string{"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml"}, want: "/etc/kubernetes/manifests"},
		{name: "config as two args", argv: []string{"kubelet", "--config", "/var/lib/kubelet/config.yaml"}, want: "/etc/kubernetes/manifests"},
		{name: "flag wins over config", argv: []string{"kubelet", "--config=/var/lib/kubelet/config.yaml", "--pod-manifest-path=/srv/static"}, want: "/srv/static"},
		{name: "flag as two args", argv: []string{"kubelet", "--pod-manifest-path", "/srv/static"}, want: "/srv/static"},
		{name: "neither", argv: []string{"kubelet", "--v=2"}, wantErr: "neither"},
		{name: "config without staticPodPath", argv: []string{"kubelet", "--config=/etc/kubelet-nostatic.yaml"}, wantErr: "sets no staticPodPath"},
		{name: "config missing", argv: []string{"kubelet", "--config=/nope"}, wantErr: "reading the kubelet config"},
		{name: "config broken", argv: []string{"kubelet", "--config=/etc/broken.yaml"}, wantErr: "does not parse"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ManifestDirFrom(tc.argv, read)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMirrorName(t *testing.T) {
	if got := MirrorName("web", "kind-worker"); got != "web-kind-worker" {
		t.Fatalf("MirrorName = %q", got)
	}
}

func TestContainerRunning(t *testing.T) {
	for out, want := range map[string]bool{
		`{"status":{"id":"abc","state":"CONTAINER_RUNNING"},"info":{}}`:       true,
		"W1123 a warning line\n{\"status\":{\"state\":\"CONTAINER_EXITED\"}}": false,
		`{"status":{"state":"CONTAINER_CREATED"}}`:                            false,
	} {
		got, err := containerRunning(out)
		if err != nil || got != want {
			t.Errorf("containerRunning(%s) = %v, %v; want %v", out, got, err, want)
		}
	}
	for _, bad := range []string{"", "crictl: failed to connect", `{"status":{}}`, `{"status":`} {
		if _, err := containerRunning(bad); err == nil {
			t.Errorf("containerRunning on %q: want an error, not a verdict", bad)
		}
	}
}

func TestManifestDirFromConfigz(t *testing.T) {
	for _, c := range []struct{ raw, want, err string }{
		{`{"kubeletconfig":{"staticPodPath":"/etc/kubernetes/manifests","featureGates":{}}}`, "/etc/kubernetes/manifests", ""},
		{`{"kubeletconfig":{}}`, "", ""}, // the file source is off: the caller says so
		{`{"other":{}}`, "", "no kubeletconfig"},
		{`not json`, "", "does not parse"},
	} {
		got, err := ManifestDirFromConfigz([]byte(c.raw))
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ManifestDirFromConfigz(%s) = %q, %v; want %q, error containing %q", c.raw, got, err, c.want, c.err)
		}
	}
}

func TestCheckMirror(t *testing.T) {
	yes := true
	valid := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-w1", UID: "new",
				Annotations:     map[string]string{"kubernetes.io/config.hash": "h", "kubernetes.io/config.mirror": "h", "kubernetes.io/config.source": "file"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "Node", Name: "w1", Controller: &yes}}},
			Spec:   corev1.PodSpec{NodeName: "w1"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{ContainerID: "containerd://1"}}},
		}
	}
	if err := CheckMirror(valid(), "w1", "old"); err != nil {
		t.Fatalf("valid mirror: %v", err)
	}
	now := metav1.Now()
	for name, c := range map[string]struct {
		mutate func(*corev1.Pod)
		want   string
	}{
		"the earlier mirror": {func(p *corev1.Pod) { p.UID = "old" }, "still the earlier one"},
		"terminating":        {func(p *corev1.Pod) { p.DeletionTimestamp = &now }, "being deleted"},
		"no hash":            {func(p *corev1.Pod) { delete(p.Annotations, "kubernetes.io/config.hash") }, "config.hash"},
		"mirror != hash":     {func(p *corev1.Pod) { p.Annotations["kubernetes.io/config.mirror"] = "x" }, "must equal"},
		"another node":       {func(p *corev1.Pod) { p.Spec.NodeName = "w2" }, "spec.nodeName"},
		"pending":            {func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }, "phase Pending"},
	} {
		p := valid()
		c.mutate(p)
		if err := CheckMirror(p, "w1", "old"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, c.want)
		}
	}
	if err := CheckMirror(withoutContract(valid()), "w1", "old"); err != nil {
		t.Errorf("the contract is CheckMirrorContract's, not CheckMirror's: %v", err)
	}
}

func withoutContract(p *corev1.Pod) *corev1.Pod {
	delete(p.Annotations, "kubernetes.io/config.source")
	p.OwnerReferences = nil
	return p
}

func TestCheckMirrorContract(t *testing.T) {
	yes := true
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1", UID: "node-uid"}}
	valid := func() *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-w1",
			Annotations:     map[string]string{"kubernetes.io/config.source": "file"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: "w1", UID: "node-uid", Controller: &yes}}}}
	}
	if err := CheckMirrorContract(valid(), node); err != nil {
		t.Fatalf("valid mirror: %v", err)
	}
	for name, c := range map[string]struct {
		mutate func(*corev1.Pod)
		want   string
	}{
		"from the API":        {func(p *corev1.Pod) { p.Annotations["kubernetes.io/config.source"] = "api" }, "config.source"},
		"no owner":            {func(p *corev1.Pod) { p.OwnerReferences = nil }, "0 owner references"},
		"two owners":          {func(p *corev1.Pod) { p.OwnerReferences = append(p.OwnerReferences, p.OwnerReferences[0]) }, "2 owner references"},
		"owned by a DS":       {func(p *corev1.Pod) { p.OwnerReferences[0].Kind = "DaemonSet" }, "owned by v1 DaemonSet"},
		"a node of that name": {func(p *corev1.Pod) { p.OwnerReferences[0].UID = "an-older-node" }, "UID an-older-node"},
		"not controller":      {func(p *corev1.Pod) { p.OwnerReferences[0].Controller = nil }, "controller: true"},
		"another API version": {func(p *corev1.Pod) { p.OwnerReferences[0].APIVersion = "v2" }, "owned by v2 Node"},
	} {
		p := valid()
		c.mutate(p)
		if err := CheckMirrorContract(p, node); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, c.want)
		}
	}
}

func TestParseContainers(t *testing.T) {
	out := `time="2026-11-30" level=warning msg="cgroup v1 is deprecated"
{
  "containers": [
    {"id": "abc123", "podSandboxId": "p1", "metadata": {"name": "web-v2", "attempt": 0}, "state": "CONTAINER_RUNNING"},
    {"id": "def456", "podSandboxId": "p1", "metadata": {"name": "sidecar", "attempt": 2}, "state": "CONTAINER_RUNNING"}
  ]
}`
	got, err := parseContainers(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Container{{Name: "web-v2", ID: "abc123"}, {Name: "sidecar", ID: "def456"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("parseContainers = %v, want %v", got, want)
	}
	if none, err := parseContainers(`{"containers": []}`); err != nil || len(none) != 0 {
		t.Errorf("no containers: %v, %v", none, err)
	}
	if _, err := parseContainers("crictl: command not found"); err == nil {
		t.Error("output without JSON must be an error, never \"no containers\"")
	}
	if RuntimeID("containerd://abc123") != "abc123" || RuntimeID("") != "" {
		t.Error("RuntimeID")
	}
}

func TestParsePID(t *testing.T) {
	for out, want := range map[string]int{"4711\n": 4711, "time=\"...\" level=warning msg=\"...\"\n312": 312} {
		if got, err := parsePID(out); err != nil || got != want {
			t.Errorf("parsePID(%q) = %d, %v; want %d", out, got, err, want)
		}
	}
	for _, out := range []string{"", "0", "<no value>"} {
		if _, err := parsePID(out); err == nil {
			t.Errorf("parsePID(%q) should be an error: no process", out)
		}
	}
}
