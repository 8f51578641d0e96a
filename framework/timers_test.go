package framework

import (
	"testing"
	"time"
)

func TestTiersFollowTheClusterTimers(t *testing.T) {
	base := (&Config{TimeoutScale: 1}).Timeouts()
	if base.NodeNotReady != 50*time.Second+10*time.Second+30*time.Second || base.KubeletSync != 2*time.Minute+30*time.Second || base.HoldLong != 25*time.Second {
		t.Fatalf("with the defaults: NodeNotReady %v, KubeletSync %v, HoldLong %v", base.NodeNotReady, base.KubeletSync, base.HoldLong)
	}
	slow := base.For(ClusterTimers{NodeMonitorGracePeriod: 4 * time.Minute, SyncFrequency: 90 * time.Second})
	if slow.NodeNotReady != 4*time.Minute+10*time.Second+30*time.Second {
		t.Errorf("a 4 min grace period: NodeNotReady %v", slow.NodeNotReady)
	}
	if slow.KubeletSync != 3*time.Minute+30*time.Second {
		t.Errorf("a 90 s sync: KubeletSync %v", slow.KubeletSync)
	}
	if slow.HoldLong != 25*time.Second {
		t.Errorf("an unread file-check period takes the default: HoldLong %v", slow.HoldLong)
	}
	quarter := (&Config{TimeoutScale: 0.25}).Timeouts()
	if quarter.HoldLong != 25*time.Second || quarter.NodeNotReady != 60*time.Second+7500*time.Millisecond {
		t.Errorf("a scale shortens only the margin, never the cluster's timers: HoldLong %v, NodeNotReady %v", quarter.HoldLong, quarter.NodeNotReady)
	}
}
