package framework

import "time"

// ClusterTimers are the timers of the cluster under test that decide how long node and
// static pod specs must wait: read from the controller manager's flags and a kubelet's
// configz at setup (framework/session), Kubernetes' defaults where one cannot be read.
type ClusterTimers struct {
	NodeMonitorGracePeriod time.Duration `json:"nodeMonitorGracePeriod"` // kube-controller-manager: a silent node goes NotReady after it
	NodeMonitorPeriod      time.Duration `json:"nodeMonitorPeriod"`      // kube-controller-manager: how often node health is checked
	FileCheckFrequency     time.Duration `json:"fileCheckFrequency"`     // kubelet: how often it rereads its static pod directory
	SyncFrequency          time.Duration `json:"syncFrequency"`          // kubelet: how often it syncs every pod (e.g. recreates a deleted mirror)
}

// DefaultClusterTimers are Kubernetes' defaults.
func DefaultClusterTimers() ClusterTimers {
	return ClusterTimers{NodeMonitorGracePeriod: 50 * time.Second, NodeMonitorPeriod: 5 * time.Second,
		FileCheckFrequency: 20 * time.Second, SyncFrequency: time.Minute}
}

// orDefaults fills what was not read with the default.
func (ct ClusterTimers) orDefaults() ClusterTimers {
	d := DefaultClusterTimers()
	or := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return ClusterTimers{NodeMonitorGracePeriod: or(ct.NodeMonitorGracePeriod, d.NodeMonitorGracePeriod),
		NodeMonitorPeriod: or(ct.NodeMonitorPeriod, d.NodeMonitorPeriod), FileCheckFrequency: or(ct.FileCheckFrequency, d.FileCheckFrequency),
		SyncFrequency: or(ct.SyncFrequency, d.SyncFrequency)}
}

// For derives the tiers that wait on the cluster's own timers from the timers it really
// uses, so a cluster with longer timers gets longer waits (and a failure there is the
// cluster's, not the wait's), and a cluster with the defaults waits no longer than it
// must. The margin is the Short tier (scaled); the timers themselves are not scaled.
//   - NodeNotReady: a node that stops reporting is NotReady (and tainted) after the grace
//     period, noticed within a monitor period or two;
//   - KubeletSync: the kubelet acts on a pod at its next sync, within two sync periods
//     (the period is jittered);
//   - HoldLong: an invariant about the static pod directory holds across one full
//     file-check period and then some.
func (t Timeouts) For(ct ClusterTimers) Timeouts {
	ct = ct.orDefaults()
	t.NodeNotReady = ct.NodeMonitorGracePeriod + 2*ct.NodeMonitorPeriod + t.Short
	t.KubeletSync = 2*ct.SyncFrequency + t.Short
	t.HoldLong = ct.FileCheckFrequency + 5*time.Second
	return t
}
