package daemonset

import "testing"

func TestWithArgs(t *testing.T) {
	serve := NewBuilder("a", "ns", "img").WithArgs("serve").Obj().Spec.Template.Spec.Containers[0]
	if serve.ReadinessProbe == nil || len(serve.Ports) != 1 {
		t.Fatalf("serve keeps its probe and port: %+v", serve)
	}
	log := NewBuilder("a", "ns", "img").WithArgs("log", "1s").Obj().Spec.Template.Spec.Containers[0]
	if log.ReadinessProbe != nil || len(log.Ports) != 0 || len(log.Args) != 2 || log.Args[0] != "log" {
		t.Fatalf("another mode has no probe and no port: %+v", log)
	}
}

func TestWithHostPathVolume(t *testing.T) {
	spec := NewBuilder("a", "ns", "img").WithHostPathVolume("logs", "/var/log", "/host/var/log", true).Obj().Spec.Template.Spec
	if len(spec.Volumes) != 1 || spec.Volumes[0].HostPath == nil || spec.Volumes[0].HostPath.Path != "/var/log" {
		t.Fatalf("volume: %+v", spec.Volumes)
	}
	m := spec.Containers[0].VolumeMounts
	if len(m) != 1 || m[0].Name != "logs" || m[0].MountPath != "/host/var/log" || !m[0].ReadOnly {
		t.Fatalf("mount: %+v", m)
	}
}
