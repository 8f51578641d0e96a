// Command cluster brings the suite's kind cluster up or down through the kind
// library, with the same settings (flags "e2e.*" or environment) as the suite.
//
//	cluster up      create the cluster, or reuse a healthy one; load the workload image;
//	                write the kubeconfig to $ARTIFACTS/kubeconfig
//	cluster down    delete it
//	cluster logs    kind export logs into $ARTIFACTS/kind-logs
//	cluster kind-image <version>
//	                print kind's published node image for a version ("" when kind publishes
//	                none for that exact patch), the reason on stderr
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dsconform/dsconform/framework"
	"github.com/dsconform/dsconform/framework/kindcluster"
	"github.com/dsconform/dsconform/framework/releases"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: cluster up|down|logs|load <image>...|kind-image <version> [flags]")
	}
	verb := os.Args[1]
	if verb == "kind-image" && len(os.Args) == 3 {
		choice := releases.PublishedKindImage(os.Args[2])
		fmt.Fprintln(os.Stderr, choice.Reason)
		fmt.Println(choice.Image)
		return
	}
	cfg, err := framework.ParseConfig("cluster "+verb, os.Args[2:])
	if err != nil {
		fail(err.Error())
	}
	c := kindcluster.New(cfg.ClusterName, nil)
	start := time.Now()
	switch verb {
	case "up":
		if err := cfg.Validate(); err != nil {
			fail(err.Error())
		}
		created, err := c.Up(context.Background(), kindcluster.UpInput{ConfigPath: cfg.KindConfig, NodeImage: cfg.NodeImage,
			KubeconfigPath: cfg.KubeconfigPath(), WaitForReady: cfg.Timeouts().ClusterReady})
		if err != nil {
			fail(err.Error())
		}
		if err := c.LoadImage(cfg.WorkloadImage); err != nil {
			fail(err.Error())
		}
		what := "reused"
		if created {
			what = "created"
		}
		fmt.Printf("cluster %s %s in %.0fs; kubeconfig: %s\n", cfg.ClusterName, what, time.Since(start).Seconds(), cfg.KubeconfigPath())
	case "load":
		for _, image := range os.Args[2:] {
			if err := c.LoadImage(image); err != nil {
				fail(err.Error())
			}
			fmt.Printf("image %s loaded into cluster %s\n", image, cfg.ClusterName)
		}
	case "down":
		if err := c.Delete(""); err != nil {
			fail(err.Error())
		}
		fmt.Printf("cluster %s deleted\n", cfg.ClusterName)
	case "logs":
		dir := filepath.Join(cfg.Artifacts, "kind-logs")
		if err := c.ExportLogs(dir); err != nil {
			fail(err.Error())
		}
		fmt.Printf("logs exported to %s\n", dir)
	default:
		fail("unknown verb " + verb + ": use up, down, logs, load <image>... or kind-image <version>")
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "error:", msg)
	os.Exit(1)
}
