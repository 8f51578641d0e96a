// Package requirements is the catalogue of documented behaviours the suite proves.
// Every spec carries exactly one requirement ID as a Ginkgo label; the report
// traces each ID back to the sentence of documentation here.
package requirements

import (
	"github.com/dsconform/dsconform/framework/report"
	"regexp"
	"sort"
)

// Requirement is one documented behaviour: ID, area, the documented sentence
// (quoted or closely paraphrased) and where it is documented.
type Requirement = report.Requirement

const (
	dsDoc     = "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
	taintDoc  = "https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/"
	staticDoc = "https://kubernetes.io/docs/tasks/configure-pod-container/static-pod/"
	apiDoc    = "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/daemon-set-v1/"
	updDoc    = "https://kubernetes.io/docs/tasks/manage-daemon/update-daemon-set/"
)

// IDPattern is the form of a requirement ID, e.g. DS-PLACE-01.
var IDPattern = regexp.MustCompile(`^(DS|SP)-[A-Z]+-[0-9]{2}$`)

var catalogue = []Requirement{
	req("DS-PLACE-01", "placement", "A DaemonSet ensures that all (or some) Nodes run a copy of a Pod; kubectl get daemonset reports DESIRED, CURRENT, READY, UP-TO-DATE and AVAILABLE equal to the eligible node count.", dsDoc),
	req("DS-PLACE-02", "placement", "If a daemon pod is deleted, the DaemonSet controller creates a replacement on the same node.", dsDoc),
	req("DS-PLACE-03", "placement", "A daemon pod that has failed is deleted and replaced by the DaemonSet controller.", dsDoc),
	req("DS-CP-01", "control-plane", "Control-plane nodes carry the node-role.kubernetes.io/control-plane:NoSchedule taint, so a DaemonSet without a matching toleration runs no pod there.", dsDoc),
	req("DS-CP-02", "control-plane", "A DaemonSet that tolerates node-role.kubernetes.io/control-plane:NoSchedule runs a pod on control-plane nodes too.", dsDoc),
	req("DS-CP-03", "control-plane", "The legacy node-role.kubernetes.io/master taint is no longer applied (since v1.25): a toleration for it alone does not reach a control-plane node.", "https://kubernetes.io/docs/reference/labels-annotations-taints/#node-role-kubernetes-io-control-plane-taint"),
	req("DS-CP-04", "control-plane", "Cluster daemons such as kube-proxy and the pod network run as DaemonSets on every node, control plane included.", dsDoc),
	req("DS-SEL-01", "node-selection", "If you specify a .spec.template.spec.nodeSelector, the DaemonSet controller creates Pods on nodes which match that node selector.", dsDoc),
	req("DS-SEL-02", "node-selection", "If you specify a .spec.template.spec.affinity, the DaemonSet controller creates Pods on nodes which match that node affinity.", dsDoc),
	req("DS-SEL-03", "node-selection", "If node labels are changed, the DaemonSet promptly adds Pods to newly matching nodes and deletes Pods from newly not-matching nodes.", dsDoc),
	req("DS-SEL-04", "node-selection", "The DaemonSet controller adds a required node affinity matchFields metadata.name In [<node>] to each pod it creates, pinning it to its node.", dsDoc),
	req("DS-TAINT-01", "taints", "A NoExecute taint evicts pods that do not tolerate it: the daemon pod on the tainted node is removed while the others keep running.", taintDoc),
	req("DS-TAINT-02", "taints", "Adding a toleration that matches the taint lets the DaemonSet run its pod on the tainted node again; removing the taint restores placement.", taintDoc),
	req("DS-TAINT-03", "taints", "An empty key with operator Exists matches all keys, values and effects, which means this will tolerate everything.", taintDoc),
	req("DS-TAINT-04", "taints", "A NoSchedule taint prevents new pods from being placed but leaves pods already running on the node; a new DaemonSet gets no pod there.", taintDoc),
	req("DS-TAINT-05", "taints", "PreferNoSchedule is a soft preference: the DaemonSet still runs its pod on a node with only a PreferNoSchedule taint.", taintDoc),
	req("DS-TOL-01", "tolerations", "The DaemonSet controller adds tolerations to daemon pods automatically: not-ready and unreachable (NoExecute), disk-pressure, memory-pressure, pid-pressure and unschedulable (NoSchedule).", dsDoc + "#taints-and-tolerations"),
	req("DS-TOL-02", "tolerations", "node.kubernetes.io/network-unavailable:NoSchedule is tolerated only by DaemonSet pods that request host networking.", dsDoc + "#taints-and-tolerations"),
	req("DS-TOL-03", "tolerations", "Daemon pods tolerate node.kubernetes.io/unschedulable: a cordoned node still gets, and keeps, its daemon pod.", dsDoc + "#taints-and-tolerations"),
	req("DS-API-01", "api", "DaemonSet status reports desiredNumberScheduled, currentNumberScheduled, numberReady, numberAvailable, updatedNumberScheduled and observedGeneration as a rollout progresses.", apiDoc),
	req("DS-API-02", "api", "The DaemonSet status subresource can be read and patched.", apiDoc),
	req("DS-API-03", "api", "DaemonSets can be listed by label across all namespaces and deleted as a collection.", apiDoc),
}

func req(id, area, statement, source string) Requirement {
	return Requirement{ID: id, Area: area, Statement: statement, Source: source}
}

// All returns the catalogue sorted by ID.
func All() []Requirement {
	out := append([]Requirement(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the requirement with the given ID.
func Lookup(id string) (Requirement, bool) {
	for _, r := range catalogue {
		if r.ID == id {
			return r, true
		}
	}
	return Requirement{}, false
}
