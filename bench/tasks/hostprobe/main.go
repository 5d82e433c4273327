// Command hostprobe prints what this host charges for the two things a
// loopback benchmark of a Go server mostly spends its time on: a system
// call, and a round trip over loopback TCP between two goroutines (a write,
// a wake-up, a read, and back). Benchmarks print it beside their figures so
// that runs on different machines can be told apart. Bench only.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"syscall"
	"time"
)

func main() {
	trips := flag.Int("trips", 20000, "loopback round trips to time")
	calls := flag.Int("syscalls", 200000, "getppid system calls to time")
	flag.Parse()

	start := time.Now()
	for range *calls {
		syscall.Getppid()
	}
	perCall := time.Since(start) / time.Duration(*calls)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(c, c) // echo
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	roundTrip := func() {
		if _, err := c.Write(buf); err != nil {
			log.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			log.Fatal(err)
		}
	}
	for range 1000 { // warm up
		roundTrip()
	}
	start = time.Now()
	for range *trips {
		roundTrip()
	}
	perTrip := time.Since(start) / time.Duration(*trips)
	fmt.Printf("system call %.2f µs · loopback TCP round trip %.1f µs\n", float64(perCall.Nanoseconds())/1e3, float64(perTrip.Nanoseconds())/1e3)
}
