package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestVirtual(t *testing.T) {
	start := time.Date(2026, 11, 26, 23, 59, 0, 0, time.UTC)
	v := NewVirtual(start)
	if got := v.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v; want %v", got, start)
	}
	if err := v.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := v.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Sleep(90s) Now = %v; want %v", got, want)
	}
	v.Advance(-time.Hour)
	if got, want := v.Now(), start.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("negative Advance moved the clock to %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.Sleep(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on a done context = %v; want context.Canceled", err)
	}
	v.Set(start)
	if !v.Now().Equal(start) {
		t.Errorf("Set did not move the clock")
	}
}

func TestRealSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Real{}).Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep = %v; want context.Canceled", err)
	}
	if err := (Real{}).Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
}
