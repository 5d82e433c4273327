module github.com/latchid/latch/bench/gateway

go 1.26.8
