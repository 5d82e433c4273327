package breaker

import (
	"errors"
	"testing"
	"time"
)

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	failure := errors.New("connection refused")
	type step struct {
		at      time.Duration // from the start
		outcome error         // what the call returns when it runs
		ran     bool          // whether the breaker let it run
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"closed: every call runs", []step{{0, nil, true}, {time.Millisecond, nil, true}, {2 * time.Millisecond, nil, true}}},
		{"failures now and then keep it closed", []step{
			{0, failure, true},
			{time.Millisecond, failure, true},
			{2 * time.Millisecond, nil, true},
			{3 * time.Millisecond, failure, true},
			{4 * time.Millisecond, failure, true},
			{5 * time.Millisecond, nil, true},
		}},
		{"three failures in a row refuse calls until the probe time", []step{
			{0, failure, true},
			{0, failure, true},
			{0, failure, true},
			{time.Millisecond, nil, false},
			{999 * time.Millisecond, nil, false},
			{time.Second, nil, true}, // the probe, and it succeeds
			{time.Second, nil, true}, // closed again
		}},
		{"one probe at a time; a failed probe waits another interval", []step{
			{0, failure, true},
			{0, failure, true},
			{0, failure, true},
			{time.Second, failure, true}, // the probe fails
			{time.Second, nil, false},    // no second probe in the same instant
			{1500 * time.Millisecond, nil, false},
			{2 * time.Second, nil, true},
			{2 * time.Second, nil, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := New(time.Second)
			t0 := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
			for i, s := range tt.steps {
				ran := false
				err := b.Do(t0.Add(s.at), func() error { ran = true; return s.outcome })
				if ran != s.ran {
					t.Fatalf("step %d at %v: ran = %v, want %v", i, s.at, ran, s.ran)
				}
				if !ran && !errors.Is(err, ErrOpen) {
					t.Errorf("step %d: refused with %v, want ErrOpen", i, err)
				}
				if ran && !errors.Is(err, s.outcome) {
					t.Errorf("step %d: %v, want the call's own result %v", i, err, s.outcome)
				}
			}
		})
	}
}

func TestRefusalNamesTheLastFailure(t *testing.T) {
	t.Parallel()
	b := New(0)
	now := time.Now()
	for range OpenAfter {
		_ = b.Do(now, func() error { return errors.New("i/o timeout") })
	}
	err := b.allow(now)
	if !errors.Is(err, ErrOpen) || err.Error() != ErrOpen.Error()+" (last failure: i/o timeout)" {
		t.Errorf("Allow = %v", err)
	}
}
