package framework

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // Ginkgo's DSL reads best unqualified
	. "github.com/onsi/gomega"    //nolint:revive
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CreateNamespace creates a namespace for the current spec, carrying the given labels
// (the run's stamp, framework/provenance.ObjectLabels) from the moment it exists, and
// registers its deletion (with a fresh context) right away.
func CreateNamespace(ctx context.Context, c kubernetes.Interface, base string, labels map[string]string) *corev1.Namespace {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: fmt.Sprintf("%s-%d-", strings.ToLower(base), GinkgoParallelProcess()),
		Labels:       labels,
	}}
	created, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "creating a namespace for the spec")
	DeferCleanup(func(ctx SpecContext) {
		err := c.CoreV1().Namespaces().Delete(ctx, created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			Fail(fmt.Sprintf("deleting namespace %s: %v", created.Name, err))
		}
	}, NodeTimeout(cleanupTimeout))
	// Pods are refused until the service account controller has made "default";
	// waiting here keeps specs from racing it.
	Eventually(ctx, func() error {
		_, err := c.CoreV1().ServiceAccounts(created.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	}).WithTimeout(defaultSATimeout).Should(Succeed(),
		"namespace %s never got its default service account (is kube-controller-manager running?)", created.Name)
	return created
}
