// Package faults holds Latch's fault tests: the auth and tasks services and
// the gateway built from source and run as real processes over a private
// PostgreSQL and Redis (started by the tests on free loopback ports, never
// the shared ones), under steady authenticated load while a dependency or a
// replica fails.
package faults
