// Command revprobe measures revocation latency for bench/revocation: for
// each of -n victims (taken from the end of the pairs file, which the load
// does not use) it revokes the victim's session at mint (POST /revoke) and
// times, from that response, the first 401 at each tasks replica for the
// victim's token on GET /api/tasks/{id}. It prints one line per replica and a
// machine-readable RESULT line. It lives in bench/ only.
//
// With -kind member the pairs hold admin tokens naming organization -org
// (mint -org-out), and each victim is demoted instead (POST /demote, the
// member event): timed to the first 401 or 403.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type victim struct{ sub, token, id string }

func main() {
	mint := flag.String("mint", "", "mint's origin")
	replicas := flag.String("replicas", "", "comma-separated tasks origins")
	pairs := flag.String("pairs", "pairs.tsv", "<sub>\\t<token>\\t<ids> per line")
	n := flag.Int("n", 20, "revocations")
	gap := flag.Duration("gap", 250*time.Millisecond, "pause between revocations")
	kind := flag.String("kind", "session", "session (POST /revoke) or member (POST /demote)")
	org := flag.String("org", "org-bench", "the organization the member tokens name")
	flag.Parse()
	if *kind != "session" && *kind != "member" {
		log.Fatalf("-kind %q: session or member", *kind)
	}

	f, err := os.Open(*pairs)
	if err != nil {
		log.Fatal(err)
	}
	var all []victim
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) == 3 {
			all = append(all, victim{parts[0], parts[1], strings.Split(parts[2], ",")[0]})
		}
	}
	if len(all) < *n {
		log.Fatalf("%d users, need %d", len(all), *n)
	}
	victims := all[len(all)-*n:]
	bases := strings.Split(*replicas, ",")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	get := func(base string, v victim) int {
		req, _ := http.NewRequest("GET", base+"/api/tasks/"+v.id, nil)
		req.Header.Set("Authorization", "Bearer "+v.token)
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	lat := make([][]time.Duration, len(bases))
	for _, v := range victims {
		for _, b := range bases {
			if s := get(b, v); s != 200 {
				log.Fatalf("%s before revocation: %d", b, s)
			}
		}
		revoke := *mint + "/revoke?sid=sess-" + v.sub
		if *kind == "member" {
			revoke = *mint + "/demote?sub=" + v.sub + "&org=" + *org
		}
		resp, err := client.Post(revoke, "text/plain", nil)
		if err != nil || resp.StatusCode != 204 {
			log.Fatalf("revoke: %v %v", err, resp)
		}
		resp.Body.Close()
		revoked := time.Now()
		var wg sync.WaitGroup
		for i, b := range bases {
			wg.Go(func() {
				for s := get(b, v); s != 401 && (*kind != "member" || s != 403); s = get(b, v) {
					if time.Since(revoked) > 10*time.Second {
						log.Fatalf("%s: not refused within 10 s", b)
					}
				}
				d := time.Since(revoked)
				lat[i] = append(lat[i], d) // one goroutine per replica index
			})
		}
		wg.Wait()
		time.Sleep(*gap)
	}
	var every []time.Duration
	for i, l := range lat {
		slices.Sort(l)
		every = append(every, l...)
		fmt.Printf("%s: p50 %v p99 %v max %v (n=%d)\n", bases[i], pct(l, 50), pct(l, 99), l[len(l)-1], len(l))
	}
	slices.Sort(every)
	fmt.Printf("RESULT n=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", len(every),
		ms(pct(every, 50)), ms(pct(every, 99)), ms(every[len(every)-1]))
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(i, len(sorted))-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
