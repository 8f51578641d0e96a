package framework

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
)

// Clients are the API clients every spec uses: typed client-go for most calls,
// and e2e-framework's klient for decoding and applying fixture YAML.
type Clients struct {
	Kube   kubernetes.Interface
	Klient klient.Client
	Rest   *rest.Config
}

// InCluster is the kubeconfig value that means "the pod's own service account".
const InCluster = "in-cluster"

// NewClients builds clients from a kubeconfig file (or, for InCluster, from the pod's
// service account) and checks the API answers.
func NewClients(kubeconfig string) (*Clients, error) {
	var kc klient.Client
	var err error
	if kubeconfig == InCluster {
		rc, ierr := rest.InClusterConfig()
		if ierr != nil {
			return nil, fmt.Errorf("in-cluster credentials: %w (run inside a pod with a service account, or set KUBECONFIG)", ierr)
		}
		kc, err = klient.New(rc)
	} else {
		kc, err = klient.NewWithKubeConfigFile(kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s is not usable: %w", kubeconfig, err)
	}
	cfg := rest.CopyConfig(kc.RESTConfig())
	cfg.QPS, cfg.Burst = 50, 100
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	if _, err := kube.Discovery().ServerVersion(); err != nil {
		return nil, fmt.Errorf("the API server in %s does not answer (%v): check the cluster is running and the kubeconfig points at it", kubeconfig, err)
	}
	return &Clients{Kube: kube, Klient: kc, Rest: cfg}, nil
}
