// Command podnet is the offline node image's default pod network, in the spirit of
// kind's kindnetd: it writes this node's podCIDR into a ptp + host-local CNI config
// and keeps a route to every other node's podCIDR through that node's InternalIP.
// It runs as a hostNetwork DaemonSet on every node.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// routeProtocol marks the routes podnet owns, so stale ones can be found and removed.
const routeProtocol = netlink.RouteProtocol(0x70)

func main() {
	nodeName := os.Getenv("NODE_NAME")
	cniDir := envOr("CNI_CONF_DIR", "/etc/cni/net.d")
	if nodeName == "" {
		log.Fatal("NODE_NAME is not set; set it from the downward API (spec.nodeName)")
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		log.Fatalf("in-cluster config: %v", err)
	}
	// kind sets CONTROL_PLANE_ENDPOINT (host:port): the Service IP needs kube-proxy,
	// and pod networking must not depend on anything that may need pod networking.
	if ep := os.Getenv("CONTROL_PLANE_ENDPOINT"); ep != "" {
		cfg.Host = "https://" + ep
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The node list changes rarely; a 10 s resync keeps routes right without a watch cache.
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		if err := sync(ctx, client, nodeName, cniDir); err != nil {
			log.Printf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func sync(ctx context.Context, client kubernetes.Interface, self, cniDir string) error {
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	want := map[string]*net.IPNet{}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Spec.PodCIDR == "" {
			continue
		}
		_, cidr, err := net.ParseCIDR(n.Spec.PodCIDR)
		if err != nil {
			continue
		}
		if n.Name == self {
			if err := writeCNIConfig(cniDir, n.Spec.PodCIDR); err != nil {
				return err
			}
			continue
		}
		gw := internalIP(n)
		if gw == nil {
			continue
		}
		want[cidr.String()] = cidr
		r := &netlink.Route{Dst: cidr, Gw: gw, Protocol: routeProtocol}
		if err := netlink.RouteReplace(r); err != nil {
			log.Printf("route %s via %s: %v", cidr, gw, err)
		}
	}
	return removeStaleRoutes(want)
}

func removeStaleRoutes(want map[string]*net.IPNet) error {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for i := range routes {
		if routes[i].Dst == nil || want[routes[i].Dst.String()] != nil {
			continue
		}
		log.Printf("removing route to %s: its node is gone", routes[i].Dst)
		if err := netlink.RouteDel(&routes[i]); err != nil {
			log.Printf("remove route %s: %v", routes[i].Dst, err)
		}
	}
	return nil
}

func internalIP(n *corev1.Node) net.IP {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip := net.ParseIP(a.Address); ip != nil && ip.To4() != nil {
				return ip
			}
		}
	}
	return nil
}

// writeCNIConfig writes the conflist atomically, and only when it changed, so the
// container runtime never reads half a file.
func writeCNIConfig(dir, podCIDR string) error {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "podnet",
		"plugins": []map[string]any{
			{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    1500,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": podCIDR}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "10-podnet.conflist")
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	log.Printf("writing %s for podCIDR %s", path, podCIDR)
	return os.Rename(tmp, path)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
