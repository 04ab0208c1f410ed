package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var sandboxURL = regexp.MustCompile(`Pipedrive sandbox on (http://127\.0\.0\.1:\d+) `)

// startSandbox runs the command on a free loopback port and returns its URL
// and a function that stops it and returns its exit code and output.
func startSandbox(t *testing.T, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := sandboxURL.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], func() (int, string) {
				cancel()
				return <-done, stdout.String()
			}
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("sandbox exited %d: %s %s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("sandbox did not start: %s %s", stdout.String(), stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSandboxCommand(t *testing.T) {
	state := filepath.Join(t.TempDir(), "sandbox.json")
	url, stop := startSandbox(t, "--state", state)

	req, _ := http.NewRequest("POST", url+"/api/v2/persons", strings.NewReader(`{"name":"Ann Example"}`))
	req.Header.Set("x-api-token", "sandbox-token")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var got struct {
		Success bool `json:"success"`
		Data    struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil || res.StatusCode != 200 || !got.Success || got.Data.ID != 1 || got.Data.Name != "Ann Example" {
		t.Fatalf("POST /api/v2/persons = %d %s (%v)", res.StatusCode, body, err)
	}
	if res.Header.Get("x-ratelimit-limit") != "40" {
		t.Errorf("x-ratelimit-limit = %q, want growth's 40", res.Header.Get("x-ratelimit-limit"))
	}

	code, out := stop()
	if code != exitOK || !strings.Contains(out, "token sandbox-token") {
		t.Fatalf("exit %d, output %q", code, out)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}

	// The saved state is loaded on the next start.
	url, stop = startSandbox(t, "--state", state, "--token", "secret-token")
	req, _ = http.NewRequest("GET", url+"/api/v2/persons/1", nil)
	req.Header.Set("x-api-token", "secret-token")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("person after reload = %d", res.StatusCode)
	}
	if _, out := stop(); strings.Contains(out, "secret-token") || !strings.Contains(out, "token from --token") {
		t.Errorf("output shows a custom token: %q", out)
	}
}

func TestSandboxRefusesPublicAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"sandbox", "--addr", "0.0.0.0:0"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr.String())
	}
	if !strings.Contains(stderr.String(), "--public") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
