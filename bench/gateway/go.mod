module github.com/latchid/latch/bench/gateway

go 1.26.8

toolchain go1.27.3

require github.com/latchid/latch/services/gateway v0.0.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/latchid/latch/pkg v0.0.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace (
	github.com/latchid/latch/pkg => ../../pkg
	github.com/latchid/latch/services/gateway => ../../services/gateway
)
