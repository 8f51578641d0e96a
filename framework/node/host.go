package node

import (
	"context"
	"fmt"
	"path"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive
	. "github.com/onsi/gomega"    //nolint:revive
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dsconform/dsconform/framework/nodeaccess"
	"github.com/dsconform/dsconform/framework/provenance"
)

// A lapsing change's undo is retried until this long after the host's timer fires, every
// lapsePoll: time for the kubelet to reconnect and an exec through it to work again.
const (
	lapseMargin = 45 * time.Second
	lapsePoll   = 3 * time.Second
)

// Host changes files and iptables rules on a node's host. Each change is stamped on the
// Node before it is made, so a run killed in between leaves a stamp whose undo is a
// no-op rather than a change nobody knows of; the stamp goes once the undo is done.
type Host struct {
	nodeaccess.Node
	Changer Changer
}

// UndoOnHost undoes one stamped host change on n and returns what it did ("" when there
// was nothing left to undo).
func UndoOnHost(ctx context.Context, n nodeaccess.Node, ch provenance.Change) (string, error) {
	script, err := provenance.HostUndo(ch)
	if err != nil {
		return "", err
	}
	out, err := n.Run(ctx, nil, "sh", "-c", script)
	if err != nil {
		return "", fmt.Errorf("node %s: undoing %s: %v: %s", n.Name(), ch, err, out)
	}
	return out, nil
}

// change stamps a host change, makes it with do, and registers its undo.
func (h Host) change(ctx context.Context, ch provenance.Change, do func() error) provenance.Change {
	GinkgoHelper()
	done := h.Changer.ApplyWithoutUndo(ctx, h.Name(), ch)
	DeferCleanup(func(ctx SpecContext) { h.undo(ctx, done) })
	if err := do(); err != nil {
		Fail(fmt.Sprintf("node %s: %s: %v", h.Name(), ch, err))
	}
	return done
}

func (h Host) undo(ctx context.Context, ch provenance.Change) {
	GinkgoHelper()
	if ch.Lapses == nil {
		_, err := UndoOnHost(ctx, h.Node, ch)
		Expect(err).NotTo(HaveOccurred())
	} else {
		// The host may be out of reach until its own timer undoes the change (through an
		// agent pod, a node cut off from the API server cannot be exec'd into): keep trying
		// until a little after then.
		Eventually(ctx, func(ctx context.Context) error {
			_, err := UndoOnHost(ctx, h.Node, ch)
			return err
		}).WithTimeout(time.Until(ch.Lapses.Time)+lapseMargin).WithPolling(lapsePoll).Should(Succeed(),
			"node %s: undoing %s (the host's own timer undoes it at %s)", h.Name(), ch, ch.Lapses.Format(time.TimeOnly))
	}
	Expect(Unstamp(ctx, h.Changer.Client, h.Name(), ch.ID)).To(Succeed(), "node %s: removing the stamp of %s", h.Name(), ch)
}

// undoNow undoes the run's latest matching host change now.
func (h Host) undoNow(ctx context.Context, what string, match func(provenance.Change) bool) {
	GinkgoHelper()
	ch, ok := h.Changer.latest(ctx, h.Name(), match)
	Expect(ok).To(BeTrue(), "node %s: %s was not changed by this run, so it is not the suite's to undo", h.Name(), what)
	h.undo(ctx, ch)
}

// WriteFile writes a file atomically (a temporary file, then a rename, so a reader such
// as the kubelet never sees half of it) and registers its removal. The first write of a
// path is stamped; a path that exists and this run did not write is refused, since the
// suite must not overwrite what it did not create.
func (h Host) WriteFile(ctx context.Context, dest, content string) string {
	GinkgoHelper()
	h.Changer.mayChange()
	tmp := "/tmp/dsconform-" + path.Base(dest)
	write := func() error {
		out, err := h.Run(ctx, []byte(content), "sh", "-c", fmt.Sprintf("cat >%q && mv %q %q", tmp, tmp, dest))
		if err != nil {
			return fmt.Errorf("writing %s: %v: %s", dest, err, out)
		}
		return nil
	}
	if _, ours := h.Changer.latest(ctx, h.Name(), func(c provenance.Change) bool { return c.Kind == provenance.File && c.Path == dest }); ours {
		Expect(write()).To(Succeed(), "node %s", h.Name())
		return dest
	}
	out, err := h.Run(ctx, nil, "sh", "-c", fmt.Sprintf("test ! -e %q || echo exists", dest))
	Expect(err).NotTo(HaveOccurred(), "node %s: checking for %s", h.Name(), dest)
	Expect(out).To(BeEmpty(), "node %s: %s exists and was not written by this run: the suite does not overwrite it", h.Name(), dest)
	ch := h.Changer.New(provenance.File)
	ch.Path = dest
	h.change(ctx, ch, write)
	return dest
}

// MakeDir makes a directory that does not exist (its parent must) and registers its
// removal; what is written in it is undone first. A path that exists is refused.
func (h Host) MakeDir(ctx context.Context, dir string) string {
	GinkgoHelper()
	h.Changer.mayChange()
	out, err := h.Run(ctx, nil, "sh", "-c", fmt.Sprintf("test ! -e %q || echo exists", dir))
	Expect(err).NotTo(HaveOccurred(), "node %s: checking for %s", h.Name(), dir)
	Expect(out).To(BeEmpty(), "node %s: %s exists and was not made by this run: the suite does not take it over", h.Name(), dir)
	ch := h.Changer.New(provenance.Dir)
	ch.Path = dir
	h.change(ctx, ch, func() error {
		if out, err := h.Run(ctx, nil, "mkdir", dir); err != nil {
			return fmt.Errorf("making directory %s: %v: %s", dir, err, out)
		}
		return nil
	})
	return dir
}

// RemoveFile removes a file this run wrote, now, and its stamp.
func (h Host) RemoveFile(ctx context.Context, file string) {
	GinkgoHelper()
	h.undoNow(ctx, "file "+file, func(c provenance.Change) bool { return c.Kind == provenance.File && c.Path == file })
}

// MoveAside moves a file to another path and registers moving it back.
func (h Host) MoveAside(ctx context.Context, from, to string) {
	GinkgoHelper()
	ch := h.Changer.New(provenance.Moved)
	ch.From, ch.Path = from, to
	h.change(ctx, ch, func() error {
		out, err := h.Run(ctx, nil, "sh", "-c", fmt.Sprintf("test ! -e %q && mv %q %q", to, from, to))
		if err != nil {
			return fmt.Errorf("moving %s to %s (which must not exist): %v: %s", from, to, err, out)
		}
		return nil
	})
}

// MoveBack moves a file this run moved aside back now.
func (h Host) MoveBack(ctx context.Context, from string) {
	GinkgoHelper()
	h.undoNow(ctx, "the move of "+from, func(c provenance.Change) bool { return c.Kind == provenance.Moved && c.From == from })
}

// InsertRule inserts a rule (chain and match, as after -I) with iptables or ip6tables
// (family provenance.IPTables or IP6Tables) and registers its deletion.
func (h Host) InsertRule(ctx context.Context, family provenance.Kind, rule ...string) {
	GinkgoHelper()
	ch := h.Changer.New(family)
	ch.Rule = rule
	h.change(ctx, ch, func() error {
		out, err := h.Run(ctx, nil, string(family), append([]string{"-I"}, rule...)...)
		if err != nil {
			return fmt.Errorf("%s -I: %v: %s", family, err, out)
		}
		return nil
	})
}

// InsertLapsingRule is InsertRule for a rule that may cut the suite off from the host:
// the host's own timer deletes it after lapse, whatever becomes of the run, and its undo
// keeps trying to reach the host until a little after then.
func (h Host) InsertLapsingRule(ctx context.Context, family provenance.Kind, lapse time.Duration, rule ...string) {
	GinkgoHelper()
	ch := h.Changer.New(family)
	ch.Rule, ch.Lapses = rule, &metav1.Time{Time: time.Now().Add(lapse)}
	script, err := provenance.HostLapsingInsert(ch, lapse)
	Expect(err).NotTo(HaveOccurred(), "node %s", h.Name())
	h.change(ctx, ch, func() error {
		out, err := h.Run(ctx, nil, "sh", "-c", script)
		if err != nil {
			return fmt.Errorf("%s -I, deleted by the host's timer %s after %s: %v: %s", family, provenance.LapseUnit(ch), lapse, err, out)
		}
		return nil
	})
}

// DeleteRule deletes a rule this run inserted, now.
func (h Host) DeleteRule(ctx context.Context, family provenance.Kind, rule ...string) {
	GinkgoHelper()
	h.undoNow(ctx, string(family)+" rule", func(c provenance.Change) bool {
		return c.Kind == family && fmt.Sprint(c.Rule) == fmt.Sprint(rule)
	})
}

// StopService stops a systemd service on the host and registers starting it again.
func (h Host) StopService(ctx context.Context, unit string) {
	GinkgoHelper()
	ch := h.Changer.New(provenance.Stopped)
	ch.Service = unit
	h.change(ctx, ch, func() error {
		out, err := h.Run(ctx, nil, "systemctl", "stop", unit)
		if err != nil {
			return fmt.Errorf("systemctl stop %s: %v: %s", unit, err, out)
		}
		return nil
	})
}

// StartService starts a service this run stopped, now.
func (h Host) StartService(ctx context.Context, unit string) {
	GinkgoHelper()
	h.undoNow(ctx, "service "+unit, func(c provenance.Change) bool { return c.Kind == provenance.Stopped && c.Service == unit })
}
