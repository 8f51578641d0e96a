package framework

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	calls := 0
	if err := Poll(context.Background(), time.Millisecond, time.Second, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || calls != 3 {
		t.Errorf("Poll = %v after %d calls, want nil after 3", err, calls)
	}
	err := Poll(context.Background(), time.Millisecond, 20*time.Millisecond, func() error { return errors.New("node n1 NotReady") })
	if err == nil || !strings.Contains(err.Error(), "node n1 NotReady") || !strings.Contains(err.Error(), "20ms") {
		t.Errorf("timed out: %v, want the last reason and the limit", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Poll(ctx, time.Hour, time.Hour, func() error { return errors.New("x") }); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("cancelled: %v", err)
	}
}
