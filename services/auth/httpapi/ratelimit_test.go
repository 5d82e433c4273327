package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/redisclient"
)

// TestStoreOutageLogsStartRemindersAndEnd: a failing store costs a few
// log lines per outage, not one per request (pkg/redisclient's throttle: a
// kind of line at most once per 30 s, with the number left out since, each
// one a request let through), and the end of an outage says how many
// requests went through unlimited.
func TestStoreOutageLogsStartRemindersAndEnd(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_800_000_000, 0)
	down := errors.New("dial tcp: connection refused")
	const failed, resumed = "rate limit store failed; requests go through unlimited until it answers", "rate limit store answers again; limiting resumed"
	type event struct {
		at     time.Duration
		failed bool // else the store answered
	}
	type line struct {
		msg        string
		leftOut    float64 // similar_lines_left_out; 0: none
		letThrough float64 // 0: no such attribute
	}
	tests := []struct {
		name   string
		events []event
		want   []line
	}{
		{"healthy store logs nothing", []event{{0, false}, {time.Second, false}}, nil},
		{
			"a burst of failures, then recovery",
			[]event{{0, false}, {time.Second, true}, {time.Second, true}, {2 * time.Second, true}, {3 * time.Second, false}, {4 * time.Second, false}},
			[]line{{failed, 0, 0}, {resumed, 0, 3}},
		},
		{
			"a long outage reminds every 30 s with the count since the last line",
			[]event{{0, true}, {10 * time.Second, true}, {29 * time.Second, true}, {30 * time.Second, true}, {31 * time.Second, true}, {45 * time.Second, true}, {61 * time.Second, true}, {62 * time.Second, false}},
			[]line{{failed, 0, 0}, {failed, 2, 0}, {failed, 2, 0}, {resumed, 0, 7}},
		},
		{
			"a flapping store: the second outage within 30 s is in the next line's count",
			[]event{{0, true}, {time.Second, false}, {2 * time.Second, true}, {3 * time.Second, false}, {40 * time.Second, true}, {41 * time.Second, false}},
			[]line{{failed, 0, 0}, {resumed, 0, 1}, {failed, 1, 0}, {resumed, 1, 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			o := storeOutage{log: redisclient.NewLogger(slog.New(slog.NewJSONHandler(&buf, nil)), redisclient.DefaultInterval)}
			for _, e := range tc.events {
				if e.failed {
					o.failed(context.Background(), down, t0.Add(e.at))
				} else {
					o.answered(context.Background(), t0.Add(e.at))
				}
			}
			var got []line
			for dec := json.NewDecoder(&buf); dec.More(); {
				var l struct {
					Msg        string
					LeftOut    float64 `json:"similar_lines_left_out"`
					LetThrough float64 `json:"let_through"`
				}
				if err := dec.Decode(&l); err != nil {
					t.Fatal(err)
				}
				got = append(got, line{l.Msg, l.LeftOut, l.LetThrough})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("log lines %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d: %+v, want %+v", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}
