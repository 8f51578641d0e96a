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
	req("DS-PLACE-04", "placement", "A DaemonSet replaces Pods that are deleted or terminated for any reason: a daemon pod that succeeded is deleted and replaced on its node.", dsDoc+"#alternatives-to-daemonset"),
	req("DS-CP-01", "control-plane", "Control-plane nodes carry the node-role.kubernetes.io/control-plane:NoSchedule taint, so a DaemonSet without a matching toleration runs no pod there.", dsDoc),
	req("DS-CP-02", "control-plane", "A DaemonSet that tolerates node-role.kubernetes.io/control-plane:NoSchedule runs a pod on control-plane nodes too.", dsDoc),
	req("DS-CP-03", "control-plane", "The legacy node-role.kubernetes.io/master taint is no longer applied (since v1.25): a toleration for it alone does not reach a control-plane node.", "https://kubernetes.io/docs/reference/labels-annotations-taints/#node-role-kubernetes-io-control-plane-taint"),
	req("DS-CP-04", "control-plane", "Cluster daemons such as kube-proxy and the pod network run as DaemonSets on every node, control plane included.", dsDoc),
	req("DS-SEL-01", "node-selection", "If you specify a .spec.template.spec.nodeSelector, the DaemonSet controller creates Pods on nodes which match that node selector.", dsDoc),
	req("DS-SEL-02", "node-selection", "If you specify a .spec.template.spec.affinity, the DaemonSet controller creates Pods on nodes which match that node affinity.", dsDoc),
	req("DS-SEL-03", "node-selection", "If node labels are changed, the DaemonSet promptly adds Pods to newly matching nodes and deletes Pods from newly not-matching nodes.", dsDoc),
	req("DS-SEL-04", "node-selection", "The DaemonSet controller adds a required node affinity matchFields metadata.name In [<node>] to each pod it creates, pinning it to its node.", dsDoc),
	req("DS-SCHED-01", "scheduling", "Daemon pods are bound to their nodes by the default scheduler, not by the DaemonSet controller: with the scheduler stopped, a new DaemonSet's pods are created Pending and bound to no node, each pinned by node affinity to an eligible node, and they are bound there once the scheduler returns.", dsDoc+"#how-daemon-pods-are-scheduled"),
	req("DS-SEL-05", "node-selection", "Changing the DaemonSet's own .spec.template.spec.nodeSelector moves its pods: they are deleted from nodes that no longer match and created on nodes that now match.", dsDoc+"#updating-a-daemonset"),
	req("DS-SEL-06", "node-selection", "The template's node affinity decides which nodes are eligible, but on each created pod the required node affinity is replaced by the node pin; no changes are made to the spec.template of the DaemonSet.", dsDoc+"#how-daemon-pods-are-scheduled"),
	req("DS-SEL-07", "node-selection", "A pod template that names a node (.spec.template.spec.nodeName) restricts the DaemonSet to that node: its pod runs there and nowhere else, and a template naming a node that does not exist creates no pod (upstream test/integration/daemonset TestNameDaemonSetLaunchesPods, TestBadNameDaemonSetDoesNothing; the controller's nodeShouldRunDaemonPod).", apiDoc),
	req("DS-TAINT-01", "taints", "A NoExecute taint evicts pods that do not tolerate it: the daemon pod on the tainted node is removed while the others keep running.", taintDoc),
	req("DS-TAINT-02", "taints", "Adding a toleration that matches the taint lets the DaemonSet run its pod on the tainted node again; removing the taint restores placement.", taintDoc),
	req("DS-TAINT-03", "taints", "An empty key with operator Exists matches all keys, values and effects, which means this will tolerate everything.", taintDoc),
	req("DS-TAINT-04", "taints", "A NoSchedule taint prevents new pods from being placed but leaves pods already running on the node; a new DaemonSet gets no pod there.", taintDoc),
	req("DS-TAINT-05", "taints", "PreferNoSchedule is a soft preference: the DaemonSet still runs its pod on a node with only a PreferNoSchedule taint.", taintDoc),
	req("DS-TAINT-06", "taints", "Toleration operators: Equal is the default and matches only the taint's value; Exists with a key and no value matches any value of that key.", taintDoc),
	req("DS-TAINT-07", "taints", "A NoExecute toleration with tolerationSeconds keeps the pod bound that long after the taint is added; if the taint is removed before then, the pod is not evicted.", taintDoc+"#taint-based-evictions"),
	req("DS-TAINT-08", "taints", "A pod evicted by the taint eviction controller (a NoExecute taint it does not tolerate) gets the DisruptionTarget condition, reason DeletionByTaintManager, before it is deleted.", "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/#pod-disruption-conditions"),
	req("DS-TOL-01", "tolerations", "The DaemonSet controller adds tolerations to daemon pods automatically: not-ready and unreachable (NoExecute), disk-pressure, memory-pressure, pid-pressure and unschedulable (NoSchedule).", dsDoc+"#taints-and-tolerations"),
	req("DS-TOL-02", "tolerations", "node.kubernetes.io/network-unavailable:NoSchedule is tolerated only by DaemonSet pods that request host networking.", dsDoc+"#taints-and-tolerations"),
	req("DS-TOL-03", "tolerations", "Daemon pods tolerate node.kubernetes.io/unschedulable: a cordoned node still gets, and keeps, its daemon pod.", dsDoc+"#taints-and-tolerations"),
	req("DS-API-01", "api", "DaemonSet status reports desiredNumberScheduled, currentNumberScheduled, numberReady, numberAvailable, updatedNumberScheduled and observedGeneration as a rollout progresses.", apiDoc),
	req("SP-REF-01", "static-pods", "Static pods cannot refer to other API objects (ServiceAccount, ConfigMap, Secret, …): the kubelet refuses such a manifest, runs nothing from it and creates no mirror pod. Always in 1.37; in 1.34–1.36 behind the default-on PreventStaticPodAPIReferences gate.", staticDoc+"#static-pods"),
	req("DS-GEN-01", "api", "Pods report status.observedGeneration, the metadata.generation the kubelet last acted on (GA in 1.35, beta and on by default in 1.34); a daemon pod's follows a spec update.", "https://kubernetes.io/docs/concepts/workloads/pods/#pod-generation"),
	req("DS-API-02", "api", "The DaemonSet status subresource can be read and patched.", apiDoc),
	req("DS-API-03", "api", "DaemonSets can be listed by label across all namespaces and deleted as a collection.", apiDoc),
	req("DS-API-04", "api", "The DaemonSet status subresource accepts a full update (PUT) that changes status only, and a watch on the DaemonSet sees each status change.", apiDoc),
	req("SP-FILE-01", "static-pods", "The kubelet starts a static pod from a manifest file in its staticPodPath directory and creates a mirror pod for it on the API server, named with the node hostname appended with a leading hyphen.", staticDoc),
	req("SP-FILE-02", "static-pods", "The kubelet periodically scans the directory and makes changes to static pods as files appear, disappear or change: an edited manifest recreates the pod with the change.", staticDoc),
	req("SP-FILE-03", "static-pods", "Removing a manifest file makes the kubelet delete the static pod and its mirror; adding the file back starts it again.", staticDoc),
	req("SP-FILE-04", "static-pods", "The kubelet restarts a static pod's container when it fails.", staticDoc),
	req("SP-FILE-05", "static-pods", "Static pod manifests are standard Pod definitions in JSON or YAML format, and the kubelet ignores files starting with dots when it scans the directory.", staticDoc),
	req("SP-MIRROR-01", "mirror-pods", "A mirror pod carries kubernetes.io/config.hash, kubernetes.io/config.mirror equal to it, kubernetes.io/config.source=file, and one controller owner reference: its Node.", staticDoc),
	req("SP-MIRROR-02", "mirror-pods", "Static pods are not controlled by the API server: deleting the mirror pod does not stop the static pod; the kubelet recreates the mirror.", staticDoc),
	req("SP-MIRROR-04", "mirror-pods", "The mirror pod reflects the static pod's metadata: its labels and annotations appear on the mirror pod, so label selectors find it (upstream test/e2e_node mirror pod tests).", staticDoc),
	req("SP-ONLY-01", "static-pods", "Static pods are pods only: other kinds in the manifest directory, or files that do not parse, create nothing and disturb no other static pod.", staticDoc),
	req("SP-CP-01", "control-plane", "kubeadm runs kube-apiserver, kube-controller-manager, kube-scheduler and etcd as static pods; their mirror pods carry the node-name suffix.", "https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/implementation-details/"),
	req("SP-CP-02", "control-plane", "Moving a control-plane manifest out of the directory stops that component (kube-scheduler: new pods stay Pending); moving it back restores it.", staticDoc),
	req("SP-CP-03", "control-plane", "The kubelet watches each static pod and restarts it if it fails: a killed control-plane component (kube-scheduler) is restarted in place.", staticDoc),
	req("SP-DIR-01", "static-pods", "The static pod directory is set by the kubelet's --pod-manifest-path flag or the staticPodPath of its --config file; found both ways (the kubelet's command line and config file on the node, and its configz through the API), they agree on every node.", staticDoc),
	req("DS-NET-01", "communication", "Push: clients reach daemon pods through a hostPort on the node's IP; each answers for its own node.", dsDoc+"#communicating-with-daemon-pods"),
	req("DS-NET-02", "communication", "A headless Service with the same pod selector discovers one address per daemon pod; a Service reaches a random daemon pod, by DNS name.", dsDoc+"#communicating-with-daemon-pods"),
	req("DS-NET-03", "communication", "Every pod gets its own cluster-wide IP: a pod on one node reaches a daemon pod on another node by pod IP.", "https://kubernetes.io/docs/concepts/services-networking/#the-kubernetes-network-model"),
	req("DS-DEL-01", "deletion", "Deleting a DaemonSet (background cascade) cleans up the Pods it created.", dsDoc),
	req("DS-DEL-02", "deletion", "With foreground cascading deletion the DaemonSet stays, marked for deletion with the foregroundDeletion finalizer, until its pods are gone.", "https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion"),
	req("DS-DEL-03", "deletion", "Deleting with --cascade=orphan leaves the pods on the nodes; a new DaemonSet with the same selector adopts them, without restarting pods whose template is equal.", dsDoc+"#updating-a-daemonset"),
	req("DS-DEL-04", "deletion", "A new DaemonSet with the same selector adopts the orphaned pods; if any pods need replacing, it replaces them according to its updateStrategy. (Observed: orphans whose pod-template-generation equals the new DaemonSet's generation count as current until its next template change.)", dsDoc+"#updating-a-daemonset"),
	req("DS-DEL-05", "deletion", "Pods created by hand whose labels match the selector are adopted by the DaemonSet; surplus pods on a node are deleted.", dsDoc),
	req("DS-VAL-01", "validation", "The .spec.selector must match .spec.template.metadata.labels; a DaemonSet whose selector does not match is rejected by the API.", dsDoc+"#pod-selector"),
	req("DS-VAL-02", "validation", "Once a DaemonSet is created, its .spec.selector cannot be mutated.", dsDoc+"#pod-selector"),
	req("DS-VAL-03", "validation", "A Pod Template in a DaemonSet must have a RestartPolicy equal to Always, or be unspecified.", dsDoc+"#pod-template"),
	req("DS-VAL-04", "validation", "A DaemonSet must have a non-empty .spec.selector.", dsDoc+"#pod-selector"),
	req("DS-API-05", "api", "A DaemonSet created without them reads back with the documented defaults: updateStrategy RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10, and the template's restartPolicy Always.", apiDoc),
	req("DS-VAL-06", "validation", "A RollingUpdate may not have maxUnavailable 0 when maxSurge is 0: such a DaemonSet could never update and is rejected.", apiDoc),
	req("DS-VAL-07", "validation", "A DaemonSet needs a pod template with at least one container: one without is rejected.", dsDoc+"#pod-template"),
	req("DS-VAL-05", "validation", "When both matchLabels and matchExpressions are specified the selector is their AND: the template must satisfy both, and a pod that matches only one is not adopted.", dsDoc+"#pod-selector"),
	req("DS-UPD-01", "updates", "With RollingUpdate, after you update a DaemonSet template old pods are killed and new ones created automatically, never more than maxUnavailable nodes without an available pod.", updDoc),
	req("DS-UPD-02", "updates", "With maxSurge, a new pod is started on a node before the old one is removed: never more than one old and one new pod per node, and no node without an available pod.", updDoc),
	req("DS-UPD-03", "updates", "minReadySeconds: a new daemon pod counts as available only after it has been ready that long.", updDoc),
	req("DS-UPD-04", "updates", "With OnDelete, new pods are created only after you manually delete old pods.", updDoc),
	req("DS-UPD-05", "updates", "ControllerRevisions and the controller-revision-hash label track template versions; rolling back to a previous template restarts no pod that already runs it.", "https://kubernetes.io/docs/tasks/manage-daemon/rollback-daemon-set/"),
	req("DS-UPD-06", "updates", "revisionHistoryLimit bounds the number of old ControllerRevisions kept.", apiDoc),
	req("DS-UPD-07", "updates", "A DaemonSet records each template as a ControllerRevision it owns; revisions can be read, patched and deleted through the API, and the controller recreates its current revision when it is deleted.", apiDoc),
	req("DS-UPD-08", "updates", "maxSurge may be a percentage of the nodes that should run the pod, rounded up: at most that many nodes run an old and a new pod at once, and with minReadySeconds an old pod is removed only after its replacement has been available that long.", updDoc),
	req("DS-UPD-09", "updates", "DaemonSet revisions only roll forward: after rolling back to revision 1 it becomes revision 3, and the current template always holds the highest revision; ControllerRevisions made, replaced (PUT) and deleted by label through the API take part in the history (upstream [Conformance] ControllerRevision lifecycle).", "https://kubernetes.io/docs/tasks/manage-daemon/rollback-daemon-set/"),
	req("DS-NODE-01", "node-lifecycle", "As nodes are added to the cluster, Pods are added to them. As nodes are removed from the cluster, those Pods are garbage collected.", dsDoc),
	req("DS-NODE-04", "node-lifecycle", "A node that stops (NotReady) keeps its daemon pod, which tolerates not-ready and unreachable; once the Node is deleted, the pod is garbage collected.", dsDoc),
	req("DS-NODE-02", "node-lifecycle", "A node that joins with a NoSchedule taint gets no daemon pod until the DaemonSet tolerates the taint.", taintDoc),
	req("DS-NODE-03", "node-lifecycle", "Daemon pods tolerate node.kubernetes.io/unreachable:NoExecute without tolerationSeconds, so they are not evicted when a node becomes unreachable, while other pods are evicted after their tolerationSeconds.", dsDoc+"#taints-and-tolerations"),
	req("SP-MIRROR-03", "mirror-pods", "The pods running on a node are visible on the API server, but cannot be controlled from there: an accepted API update of a mirror pod's spec changes nothing on the node.", staticDoc),
	req("SP-MIX-01", "static-pods", "Unlike a DaemonSet pod, which its controller replaces when deleted, a static pod is bound to its kubelet: deleting its mirror leaves it running.", staticDoc),
	req("SP-MIX-02", "static-pods", "The kubelet runs static pods without the API server: they keep running while the node is cut off, and the mirror is restored when contact returns.", staticDoc),
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

// Known reports whether id is a catalogued requirement.
func Known(id string) bool {
	_, ok := Lookup(id)
	return ok
}
