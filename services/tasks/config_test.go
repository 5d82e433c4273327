package main

import (
	"strings"
	"testing"
	"time"
)

func TestShutdownDelayConfig(t *testing.T) {
	cases := []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{"", 0, ""},
		{"2s", 2 * time.Second, ""},
		{"5", 5 * time.Second, ""},
		{"-1s", 0, "SHUTDOWN_DELAY must not be negative"},
		{"soon", 0, "SHUTDOWN_DELAY must be a duration"},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string { return map[string]string{"SHUTDOWN_DELAY": tc.value}[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || cfg.ShutdownDelay != tc.want {
				t.Fatalf("ShutdownDelay = %v, %v; want %v", cfg.ShutdownDelay, err, tc.want)
			}
		})
	}
}
