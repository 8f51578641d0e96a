package kindcluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// NodeFacts is what only a kind node itself can tell about its runtime.
type NodeFacts struct {
	Crictl         string // what `crictl version` answers, or why it does not
	Runtime        string // /kind/runtime-versions, one line
	KubeletCgroups string // "kubelet running on cgroup v1 with failCgroupV1=false"
}

// Describe reads NodeFacts of the named node containers (those it cannot reach are left out).
func (c *Cluster) Describe(ctx context.Context, names []string) map[string]NodeFacts {
	out := map[string]NodeFacts{}
	for _, name := range names {
		n, err := c.Node(name)
		if err != nil {
			continue
		}
		var f NodeFacts
		if v, err := Run(ctx, n, nil, "crictl", "version"); err == nil {
			f.Crictl = strings.Join(strings.Fields(v), " ")
		} else {
			f.Crictl = "crictl does not answer: " + strings.SplitN(err.Error(), "\n", 2)[0]
		}
		if v, err := Run(ctx, n, nil, "cat", "/kind/runtime-versions"); err == nil {
			f.Runtime = strings.Join(strings.Split(strings.TrimSpace(v), "\n"), ", ")
		}
		fs, _ := Run(ctx, n, nil, "stat", "-fc", "%T", "/sys/fs/cgroup")
		fail, _ := Run(ctx, n, nil, "sh", "-c", "grep -h '^failCgroupV1:' /var/lib/kubelet/config.yaml || echo 'failCgroupV1: (unset)'")
		f.KubeletCgroups = KubeletCgroups(fs, fail)
		out[name] = f
	}
	return out
}

// KubeletCgroups says how the kubelet runs on the host's cgroups, from `stat -fc %T
// /sys/fs/cgroup` and the failCgroupV1 line of its config.
func KubeletCgroups(fsType, failLine string) string {
	version := "cgroup v1"
	if strings.TrimSpace(fsType) == "cgroup2fs" {
		version = "cgroup v2"
	}
	return fmt.Sprintf("kubelet running on %s with %s", version, strings.ReplaceAll(strings.TrimSpace(failLine), ": ", "="))
}

// Summary joins the distinct values of one fact across nodes, sorted.
func Summary(facts map[string]NodeFacts, of func(NodeFacts) string) string {
	var vs []string
	for _, f := range facts {
		if v := of(f); v != "" {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return strings.Join(slices.Compact(vs), "; ")
}
