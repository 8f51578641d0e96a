package kindcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// IdentityConfigMap is where a cluster the suite created records what it was created
// from (kube-system/<this>): a cluster is reused only for the same inputs.
const IdentityConfigMap = "dsconform-cluster-identity"

// Identity is what a cluster was created from.
type Identity struct {
	KindConfig     string `json:"kindConfig"`     // the file's path, for messages
	KindConfigHash string `json:"kindConfigHash"` // of the effective config (patches included)
	NodeImage      string `json:"nodeImage"`
}

// Equal compares what matters: the effective config and the node image.
func (i Identity) Equal(o Identity) bool {
	return i.KindConfigHash == o.KindConfigHash && i.NodeImage == o.NodeImage
}

// Differs names what of i differs from o, for a one-line message.
func (i Identity) Differs(o Identity) string {
	var parts []string
	if i.KindConfigHash != o.KindConfigHash {
		parts = append(parts, fmt.Sprintf("kind config %s (%s)", i.KindConfig, i.KindConfigHash))
	}
	if i.NodeImage != o.NodeImage {
		parts = append(parts, "node image "+orDefault(i.NodeImage))
	}
	return strings.Join(parts, " and ")
}

func orDefault(image string) string {
	if image == "" {
		return "(kind's default)"
	}
	return image
}

func identityOf(path string, cfg *v1alpha4.Cluster, nodeImage string) (Identity, error) {
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		return Identity{}, err
	}
	sum := sha256.Sum256(raw)
	return Identity{KindConfig: path, KindConfigHash: hex.EncodeToString(sum[:])[:12], NodeImage: nodeImage}, nil
}

// identity reads what an existing cluster was created from: nil when it was not
// created by this suite (no record).
func (c *Cluster) identity(ctx context.Context, kubeconfig string) (*Identity, error) {
	cs, err := c.client(kubeconfig)
	if err != nil {
		return nil, err
	}
	cm, err := cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Get(ctx, IdentityConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id := &Identity{KindConfig: cm.Data["kindConfig"], KindConfigHash: cm.Data["kindConfigHash"], NodeImage: cm.Data["nodeImage"]}
	return id, nil
}

func (c *Cluster) recordIdentity(ctx context.Context, kubeconfig string, id Identity) error {
	cs, err := c.client(kubeconfig)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: IdentityConfigMap, Namespace: metav1.NamespaceSystem},
		Data: map[string]string{"kindConfig": id.KindConfig, "kindConfigHash": id.KindConfigHash, "nodeImage": id.NodeImage}}
	_, err = cs.CoreV1().ConfigMaps(metav1.NamespaceSystem).Create(ctx, cm, metav1.CreateOptions{})
	return err
}

// DockerCgroupVersion asks the Docker engine which cgroup version its containers get ("1" or "2").
func DockerCgroupVersion() (string, error) {
	out, err := exec.Command("docker", "info", "--format", "{{.CgroupVersion}}").Output()
	if err != nil {
		return "", fmt.Errorf("docker info: %v: run 'make host' or start dockerd", err)
	}
	v := strings.TrimSpace(string(out))
	if v != "1" && v != "2" {
		return "", fmt.Errorf("docker reports cgroup version %q, neither 1 nor 2", v)
	}
	return v, nil
}

// CgroupV1KubeletPatch is the kind config patch that keeps the kubelet (1.35+) running
// on a cgroup v1 host: without it the kubelet refuses to start. kind applies it to
// the KubeletConfiguration of init and join; kubeadm uploads it for later joins.
const CgroupV1KubeletPatch = "kind: KubeletConfiguration\nfailCgroupV1: false\n"

// KubeletOnCgroupV1 adds CgroupV1KubeletPatch to cfg when the host is on cgroup v1 and
// reports whether it applies. On cgroup v2 it changes nothing.
func KubeletOnCgroupV1(cfg *v1alpha4.Cluster, cgroupVersion string) bool {
	if cgroupVersion != "1" {
		return false
	}
	for _, p := range cfg.KubeadmConfigPatches {
		if strings.Contains(p, "failCgroupV1") {
			return true // the user's own setting wins
		}
	}
	cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, CgroupV1KubeletPatch)
	return true
}
