package observe

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// WatchPool exports a pgx pool's statistics labelled db_name=name. On
// PostgreSQL every query, through gorm or straight to pgx, takes its
// connection from this pool, so these figures are the whole picture
// (database/sql's stats see only gorm's share).
func (o *Observer) WatchPool(name string, p *pgxpool.Pool) {
	o.wrapped.MustRegister(&poolCollector{pool: p, name: name})
}

type poolCollector struct {
	pool *pgxpool.Pool
	name string
}

func poolDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"db_name"}, nil)
}

var (
	poolMax           = poolDesc("pgxpool_max_conns", "Maximum connections of the pool.")
	poolTotal         = poolDesc("pgxpool_conns", "Connections open now (acquired, idle or being made).")
	poolAcquired      = poolDesc("pgxpool_acquired_conns", "Connections in use now.")
	poolIdle          = poolDesc("pgxpool_idle_conns", "Idle connections now.")
	poolAcquires      = poolDesc("pgxpool_acquires_total", "Connections acquired from the pool.")
	poolEmptyAcquires = poolDesc("pgxpool_empty_acquires_total", "Acquires that had to wait because every connection was in use.")
	poolAcquireWait   = poolDesc("pgxpool_acquire_duration_seconds_total", "Time spent acquiring connections.")
	poolCanceled      = poolDesc("pgxpool_canceled_acquires_total", "Acquires given up (context ended) before a connection came.")
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMax, poolTotal, poolAcquired, poolIdle, poolAcquires, poolEmptyAcquires, poolAcquireWait, poolCanceled} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, c.name)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, c.name)
	}
	gauge(poolMax, float64(s.MaxConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolEmptyAcquires, float64(s.EmptyAcquireCount()))
	counter(poolAcquireWait, s.AcquireDuration().Seconds())
	counter(poolCanceled, float64(s.CanceledAcquireCount()))
}
