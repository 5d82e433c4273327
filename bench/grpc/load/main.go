// Command load is bench/grpc's load generator: GetTask over gRPC or
// GET /api/tasks/{id} over REST, from one tokens file, at a fixed
// concurrency for a fixed time, so both transports are measured by the same
// client in the same way.
//
//	load -mode grpc -addr 127.0.0.1:19002 -pairs pairs.tsv -c 32 -d 10s
//	load -mode rest -addr 127.0.0.1:19001 -pairs pairs.tsv -c 32 -d 10s
//
// pairs.tsv has one line per user: "<sub>\t<token>\t<id>,<id>,…". Every
// request is a random user's token and one of that user's tasks; anything
// but 200 / OK counts as an error. Prints one JSON line.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

type user struct {
	auth string // "Bearer <token>"
	ids  []int64
}

type result struct {
	Mode     string  `json:"mode"`
	Conc     int     `json:"concurrency"`
	Conns    int     `json:"connections"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	FirstErr string  `json:"first_error,omitempty"`
}

func main() {
	mode := flag.String("mode", "grpc", "grpc or rest")
	addr := flag.String("addr", "", "host:port of the gRPC or HTTP server")
	pairsFile := flag.String("pairs", "pairs.tsv", "users, tokens and task ids")
	conc := flag.Int("c", 32, "concurrent requests in flight")
	conns := flag.Int("conns", 0, "connections (default: REST one per worker, gRPC 1 as ghz does)")
	dur := flag.Duration("d", 10*time.Second, "measured duration")
	warmup := flag.Duration("warmup", 2*time.Second, "unmeasured warm-up before it")
	flag.Parse()
	if err := run(*mode, *addr, *pairsFile, *conc, *conns, *warmup, *dur); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(mode, addr, pairsFile string, conc, conns int, warmup, dur time.Duration) error {
	if conc < 1 || conc > 1024 || dur <= 0 || dur > 10*time.Minute {
		return errors.New("concurrency must be 1-1024 and the duration at most 10 min")
	}
	users, err := readPairs(pairsFile)
	if err != nil {
		return err
	}
	var call func(ctx context.Context, u user, id int64) error
	switch mode {
	case "grpc":
		if conns <= 0 {
			conns = 1
		}
		clients := make([]tasksv1.TasksServiceClient, conns)
		for i := range clients {
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				return err
			}
			defer conn.Close()
			clients[i] = tasksv1.NewTasksServiceClient(conn)
		}
		var next int
		var mu sync.Mutex
		pick := func() tasksv1.TasksServiceClient {
			mu.Lock()
			defer mu.Unlock()
			next++
			return clients[next%len(clients)]
		}
		call = func(ctx context.Context, u user, id int64) error {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", u.auth)
			_, err := pick().GetTask(ctx, &tasksv1.GetTaskRequest{Id: id})
			return err
		}
	case "rest":
		if conns <= 0 {
			conns = conc
		}
		client := &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
		}}
		base := "http://" + addr + "/api/tasks/"
		call = func(ctx context.Context, u user, id int64) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+strconv.FormatInt(id, 10), nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", u.auth)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	default:
		return fmt.Errorf("mode %q: want grpc or rest", mode)
	}

	// Warm up (connections, caches), then measure.
	drive(users, conc, warmup, call)
	run := drive(users, conc, dur, call)
	samples, errs, firstErr, elapsed := run.samples, run.errs, run.firstErr, run.elapsed
	slices.Sort(samples)
	res := result{Mode: mode, Conc: conc, Conns: conns, Requests: len(samples) + errs, Errors: errs, Seconds: elapsed.Seconds()}
	if len(samples) > 0 {
		res.RPS = float64(len(samples)) / elapsed.Seconds()
		res.P50ms = ms(samples[len(samples)*50/100])
		res.P99ms = ms(samples[min(len(samples)-1, len(samples)*99/100)])
	}
	if firstErr != nil {
		res.FirstErr = firstErr.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// driven is what one drive measured: the successful calls' latencies, how
// many calls failed and the first failure (a result to report, not an error
// of drive's), and the time it took.
type driven struct {
	samples  []time.Duration
	errs     int
	firstErr error
	elapsed  time.Duration
}

// drive runs conc workers for d, each sending its next request as soon as
// the last one answered.
func drive(users []user, conc int, d time.Duration, call func(context.Context, user, int64) error) driven {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second) // bounds a stuck call
	defer cancel()
	deadline := time.Now().Add(d)
	var (
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			local := make([]time.Duration, 0, 1<<14)
			var localErrs int
			var localFirst error
			for time.Now().Before(deadline) {
				u := users[rng.IntN(len(users))]
				id := u.ids[rng.IntN(len(u.ids))]
				t0 := time.Now()
				if err := call(ctx, u, id); err != nil {
					localErrs++
					if localFirst == nil {
						localFirst = err
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			errs += localErrs
			if firstErr == nil {
				firstErr = localFirst
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return driven{samples: all, errs: errs, firstErr: firstErr, elapsed: time.Since(start)}
}

func readPairs(path string) ([]user, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var users []user
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			return nil, fmt.Errorf("%s: want <sub>\\t<token>\\t<ids>", path)
		}
		u := user{auth: "Bearer " + parts[1]}
		for _, s := range strings.Split(parts[2], ",") {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: task id %q", path, s)
			}
			u.ids = append(u.ids, id)
		}
		users = append(users, u)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("%s: no users", path)
	}
	return users, sc.Err()
}
