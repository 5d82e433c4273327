package sweep

import "time"

// SetClock makes s read the time from now (tests pin it).
func SetClock(s *Sweeper, now func() time.Time) { s.now = now }
