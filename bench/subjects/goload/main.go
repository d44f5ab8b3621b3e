// The benchmarks' load generator and function, in Go so that the core they share costs little and
// adds little jitter of its own (a Node load generator and function on one core put 10–35 ms into
// the p99 of a direct call at 1000 requests/s, more than any subject added).
//
//	goload serve                       the function: answers 200 {"ok":true} to any request; PORT
//	                                   from env (0: any); prints {"listening": PORT}; GET /__count
//	                                   answers {"requests": N, "lastAt": UNIX_MS} of the others
//	goload load -url U -seconds S      drives load and prints the result as JSON (bench/lib.ts
//	  [-rate R | -concurrency C]       LoadResult): open loop at R requests/s (uniform arrivals,
//	  [-header "k: v"]... [-body B]    latency from each request's scheduled start), or closed
//	  [-ok 200]                        loop with C requests in flight
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goload serve | goload load -url U -seconds S [-rate R | -concurrency C]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve()
	case "load":
		load(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "goload: unknown command", os.Args[1])
		os.Exit(2)
	}
}

func serve() {
	body := []byte(`{"ok":true}`)
	// Requests answered so far and when the last one arrived (unix ms), for benches that wait
	// until every accepted event was delivered: GET /__count, itself not counted.
	var count, lastAt atomic.Int64
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__count" {
			w.Header().Set("content-type", "application/json")
			fmt.Fprintf(w, `{"requests":%d,"lastAt":%d}`, count.Load(), lastAt.Load())
			return
		}
		count.Add(1)
		lastAt.Store(time.Now().UnixMilli())
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("content-type", "application/json")
		w.Header().Set("content-length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "0"
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("{\"listening\": %d}\n", listener.Addr().(*net.TCPAddr).Port)
	if err := http.Serve(listener, handler); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type latencyMs struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

type result struct {
	Requests  int       `json:"requests"`
	OK        int64     `json:"ok"`
	Errors    int64     `json:"errors"`
	Seconds   float64   `json:"seconds"`
	Rate      float64   `json:"rate"`
	LatencyMs latencyMs `json:"latencyMs"`
	// Answers by status code, and failures without an answer by kind (refused, reset, timeout, other).
	Statuses map[string]int64 `json:"statuses"`
	Failures map[string]int64 `json:"failures"`
}

// failureKind names a request that got no answer.
func failureKind(err error) string {
	text := err.Error()
	switch {
	case strings.Contains(text, "connection refused"):
		return "refused"
	case strings.Contains(text, "connection reset") || strings.Contains(text, "EOF"):
		return "reset"
	case strings.Contains(text, "timeout") || strings.Contains(text, "deadline"):
		return "timeout"
	default:
		return "other"
	}
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "target URL")
	seconds := fs.Float64("seconds", 5, "how long")
	rate := fs.Float64("rate", 0, "open loop: requests per second")
	concurrency := fs.Int("concurrency", 64, "closed loop: requests in flight")
	body := fs.String("body", "", "request body")
	okStatus := fs.Int("ok", 200, "the status that counts as success")
	uniqueIDs := fs.Bool("unique-ids", false, "append this run's start time and a request counter to the ce-id header: every event distinct, across runs too")
	var hs headers
	fs.Var(&hs, "header", `a request header, "name: value" (repeatable)`)
	_ = fs.Parse(args)

	header := http.Header{}
	for _, h := range hs {
		name, value, _ := strings.Cut(h, ":")
		header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		DisableCompression:  true,
		IdleConnTimeout:     90 * time.Second,
	}}
	payload := []byte(*body)

	var ok, errors, sent atomic.Int64
	baseID := fmt.Sprintf("%s-%x", header.Get("ce-id"), time.Now().UnixNano())
	var mu sync.Mutex
	latencies := make([]float64, 0, 1<<16)
	statuses := map[string]int64{}
	failures := map[string]int64{}
	send := func(scheduled time.Time) {
		req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(payload))
		req.Header = header.Clone()
		if *uniqueIDs {
			req.Header.Set("ce-id", fmt.Sprintf("%s-%d", baseID, sent.Add(1)))
		}
		req.ContentLength = int64(len(payload))
		res, err := client.Do(req)
		outcome := ""
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == *okStatus {
				ok.Add(1)
			} else {
				errors.Add(1)
			}
			outcome = strconv.Itoa(res.StatusCode)
		} else {
			errors.Add(1)
		}
		ms := float64(time.Since(scheduled).Nanoseconds()) / 1e6
		mu.Lock()
		latencies = append(latencies, ms)
		if err == nil {
			statuses[outcome]++
		} else {
			failures[failureKind(err)]++
		}
		mu.Unlock()
	}

	start := time.Now()
	end := start.Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	if *rate > 0 {
		interval := time.Duration(float64(time.Second) / *rate)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) {
				break
			}
			if wait := time.Until(at); wait > 0 {
				time.Sleep(wait)
			}
			wg.Add(1)
			go func() { defer wg.Done(); send(at) }()
		}
	} else {
		for range *concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					send(time.Now())
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(latencies)
	at := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	out, _ := json.Marshal(result{
		Requests:  len(latencies),
		OK:        ok.Load(),
		Errors:    errors.Load(),
		Seconds:   elapsed,
		Rate:      float64(ok.Load()) / elapsed,
		LatencyMs: latencyMs{P50: at(0.5), P90: at(0.9), P99: at(0.99), P999: at(0.999)},
		Statuses:  statuses,
		Failures:  failures,
	})
	fmt.Println(string(out))
}
