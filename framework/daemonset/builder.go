package daemonset

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Builder makes DaemonSet objects for specs: NewBuilder("agent", ns, image).WithToleration(...).Obj().
type Builder struct{ ds appsv1.DaemonSet }

// NewBuilder starts from the seeds' monitoring-daemon shape: one container running
// the suite's workload image, serving HTTP on 8080, labelled app=<name>.
func NewBuilder(name, namespace, image string) *Builder {
	labels := map[string]string{"app": name}
	zero := int64(1)
	return &Builder{ds: appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": name}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &zero,
					Containers: []corev1.Container{{
						Name:            "monitor",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            []string{"serve"},
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
						Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds: 2},
					}},
				},
			},
		},
	}}
}

func (b *Builder) WithToleration(t corev1.Toleration) *Builder {
	b.ds.Spec.Template.Spec.Tolerations = append(b.ds.Spec.Template.Spec.Tolerations, t)
	return b
}

func (b *Builder) WithNodeSelector(sel map[string]string) *Builder {
	b.ds.Spec.Template.Spec.NodeSelector = sel
	return b
}

func (b *Builder) WithRequiredNodeAffinity(terms ...corev1.NodeSelectorTerm) *Builder {
	b.ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
	return b
}

func (b *Builder) WithHostNetwork() *Builder {
	b.ds.Spec.Template.Spec.HostNetwork = true
	return b
}

// WithPort serves and probes on port instead of 8080 (hostNetwork pods share the node's ports).
func (b *Builder) WithPort(port int32) *Builder {
	c := &b.ds.Spec.Template.Spec.Containers[0]
	c.Ports[0].ContainerPort = port
	c.ReadinessProbe.HTTPGet.Port = intstr.FromInt32(port)
	return b.WithEnv("PORT", fmt.Sprint(port))
}

func (b *Builder) WithHostPort(port int32) *Builder {
	b.ds.Spec.Template.Spec.Containers[0].Ports[0].HostPort = port
	return b
}

func (b *Builder) WithEnv(name, value string) *Builder {
	c := &b.ds.Spec.Template.Spec.Containers[0]
	c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
	return b
}

// WithArgs runs the workload in another mode. Only serve answers the readiness probe on
// its port, so any other mode has neither: its pods are Ready once running.
func (b *Builder) WithArgs(args ...string) *Builder {
	c := &b.ds.Spec.Template.Spec.Containers[0]
	c.Args = args
	if len(args) == 0 || args[0] != "serve" {
		c.ReadinessProbe, c.Ports = nil, nil
	}
	return b
}

// WithHostPathVolume mounts a directory of the node's at mountPath in the container.
func (b *Builder) WithHostPathVolume(name, hostPath, mountPath string, readOnly bool) *Builder {
	dir := corev1.HostPathDirectory
	spec := &b.ds.Spec.Template.Spec
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostPath, Type: &dir}}})
	spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: mountPath, ReadOnly: readOnly})
	return b
}

func (b *Builder) WithImage(image string) *Builder {
	b.ds.Spec.Template.Spec.Containers[0].Image = image
	return b
}

func (b *Builder) WithRollingUpdate(maxUnavailable, maxSurge intstr.IntOrString) *Builder {
	b.ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge}}
	return b
}

func (b *Builder) WithOnDelete() *Builder {
	b.ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
	return b
}

func (b *Builder) WithMinReadySeconds(s int32) *Builder {
	b.ds.Spec.MinReadySeconds = s
	return b
}

func (b *Builder) WithRevisionHistoryLimit(n int32) *Builder {
	b.ds.Spec.RevisionHistoryLimit = &n
	return b
}

// Obj returns a copy, so one builder can make several objects.
func (b *Builder) Obj() *appsv1.DaemonSet { return b.ds.DeepCopy() }
