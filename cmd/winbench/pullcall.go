package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/winlayer/winlayer/image"
	"github.com/winlayer/winlayer/layer"
)

// childPull is the measured pull: winlayer's image pull (image.Store.Pull,
// what "winlayer image pull" runs, compressed blobs kept as by default)
// of ref into a new store in dir, jobs layers at once. It returns the
// compressed bytes read, and in *layers when each layer started and was
// done.
func childPull(ctx context.Context, dir, ref string, jobs int, layers *[]layerTime) (int64, error) {
	ls, err := layer.Open(dir)
	if err != nil {
		return 0, err
	}
	cfg := image.Config{Jobs: jobs, UserAgent: "winbench"}
	loc, err := cfg.Parse(ref)
	if err != nil {
		return 0, err
	}
	times := make([]layerTime, len(pullLayers))
	var mu sync.Mutex
	progress := func(e image.Event) {
		if e.Layer < 0 || e.Layer >= len(times) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case image.EventStart:
			times[e.Layer].Layer, times[e.Layer].start = e.Layer+1, time.Now()
		case image.EventDone:
			times[e.Layer].done = time.Now()
		}
	}
	res, err := image.OpenStore(ls).Pull(ctx, loc, cfg, image.PullOptions{Progress: progress})
	mu.Lock()
	*layers = times
	mu.Unlock()
	if err != nil {
		return 0, err
	}
	if len(res) != 1 || res[0].Fetched != len(pullLayers) {
		return 0, fmt.Errorf("pull %s: %d images, want one with %d layers fetched", ref, len(res), len(pullLayers))
	}
	return res[0].Bytes, nil
}
