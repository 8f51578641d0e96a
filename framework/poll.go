package framework

import (
	"context"
	"fmt"
	"time"
)

// Poll is the wait for code that runs outside a spec (the cluster's setup, the
// commands under scripts/): it calls check at once and then every interval until it
// returns nil, ctx ends or within has passed, and then returns check's last error (what
// was still wrong), saying how long it waited.
func Poll(ctx context.Context, every, within time.Duration, check func() error) error {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := check()
		switch {
		case err == nil:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("still after %v: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted while waiting: %w", err)
		case <-tick.C:
		}
	}
}
