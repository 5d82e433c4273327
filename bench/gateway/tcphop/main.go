// Command tcphop is bench/gateway's lowest floor: it copies bytes between
// each client connection and a connection of its own to the upstream, and
// understands nothing of HTTP. No proxy that reads requests can cost less
// than this extra hop; what an HTTP proxy costs above it is parsing,
// header rewriting and its connection pool. Bench only.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream host:port")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		client, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go forward(client.(*net.TCPConn), *upstream)
	}
}

func forward(client *net.TCPConn, upstream string) {
	defer client.Close()
	conn, err := net.DialTimeout("tcp", upstream, 5*time.Second)
	if err != nil {
		log.Printf("dial %s: %v", upstream, err)
		return
	}
	server := conn.(*net.TCPConn)
	defer server.Close()
	go func() {
		_, _ = io.Copy(server, client)
		_ = server.CloseWrite()
	}()
	_, _ = io.Copy(client, server)
}
