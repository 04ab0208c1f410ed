package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// MotoCommand is the DynamoDB-protocol server StartDynamoDB runs: moto's
// server mode, as the machine image installs it.
const MotoCommand = "moto_server"

// ErrNoDynamoDB is returned by StartDynamoDB when MotoCommand is not on PATH.
var ErrNoDynamoDB = errors.New(MotoCommand + " is not on PATH")

// DynamoDBServer is a DynamoDB-protocol server running as a child process,
// on a loopback port, holding its tables in memory. It is for tests: the
// region is eu-west-2 and the credentials are static.
//
// Clients reach it through a proxy in the test process that passes one
// request at a time. DynamoDB makes each conditional write atomic; moto
// (5.x) evaluates the condition and writes in separate steps without a
// lock, so two concurrent requests can both pass the same condition, and
// the conformance suite's concurrency checks then fail now and then. One
// request at a time restores the atomicity the ledger relies on; the
// requests, the protocol and the condition evaluation stay moto's.
type DynamoDBServer struct {
	// URL is the server's endpoint, http://127.0.0.1:PORT.
	URL string

	cmd    *exec.Cmd
	proxy  *http.Server
	output *tailBuffer
	done   chan struct{} // closed when the process has exited
	once   sync.Once
}

// StartDynamoDB starts a DynamoDB-protocol server (MotoCommand) and waits,
// up to 30 seconds, until it answers a ListTables request. It returns
// ErrNoDynamoDB if the command is not installed, and an error naming the
// server's last output if it does not come up. The caller must Close it.
func StartDynamoDB() (*DynamoDBServer, error) {
	path, err := exec.LookPath(MotoCommand)
	if err != nil {
		return nil, ErrNoDynamoDB
	}
	var lastErr error
	// A port picked free may be taken before the server binds it; retry.
	for range 3 {
		srv, err := startMoto(path)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startMoto(path string) (*DynamoDBServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", MotoCommand, err)
	}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", MotoCommand, err)
	}
	srv := &DynamoDBServer{
		cmd:    cmd,
		output: out,
		done:   make(chan struct{}),
	}
	go func() {
		cmd.Wait()
		close(srv.done)
	}()
	if err := srv.startProxy("http://127.0.0.1:" + strconv.Itoa(port)); err != nil {
		srv.Close()
		return nil, fmt.Errorf("start %s: %w", MotoCommand, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := srv.Client()
	for {
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil {
			return srv, nil
		}
		select {
		case <-srv.done:
			return nil, fmt.Errorf("%s exited before answering: %s", MotoCommand, out)
		case <-ctx.Done():
			srv.Close()
			return nil, fmt.Errorf("%s did not answer within 30s: %v; output: %s", MotoCommand, err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startProxy serves URL with a proxy to target that forwards one request at
// a time (see DynamoDBServer).
func (s *DynamoDBServer) startProxy(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A cancelled request makes the proxy log; the client sees it anyway.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	var mu sync.Mutex
	s.proxy = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			rp.ServeHTTP(w, r)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.URL = "http://" + l.Addr().String()
	go s.proxy.Serve(l)
	return nil
}

// Client returns a client for the server: static credentials, region
// eu-west-2, a few retries and no waiting between them beyond the SDK's.
func (s *DynamoDBServer) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	})
}

// Close stops the server and waits for it to exit. It is safe to call more
// than once.
func (s *DynamoDBServer) Close() error {
	s.once.Do(func() {
		if s.proxy != nil {
			s.proxy.Close()
		}
		// The process group: the command may be a wrapper (a pyenv shim)
		// around the Python process that serves.
		killGroup(s.cmd)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	return nil
}

// NewDynamoDBTestServer starts a DynamoDB-protocol server for one test and
// stops it when the test ends, returning a client for it. If MotoCommand is
// not installed it skips the test, or fails it when the environment
// variable CI is set. Tests that need many tables should share one server
// (see StartDynamoDB) and make a table per test: starting moto takes about
// half a second.
func NewDynamoDBTestServer(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	srv, err := StartDynamoDB()
	SkipWithoutDynamoDB(tb, err)
	tb.Cleanup(func() { srv.Close() })
	return srv.Client()
}

// SkipWithoutDynamoDB ends the test if err, from StartDynamoDB, is not nil:
// it skips when the server is not installed and CI is unset, and fails
// otherwise.
func SkipWithoutDynamoDB(tb testing.TB, err error) {
	tb.Helper()
	switch {
	case err == nil:
	case errors.Is(err, ErrNoDynamoDB) && os.Getenv("CI") == "":
		tb.Skipf("%v: install moto[server] to run the DynamoDB tests (they fail when CI is set)", err)
	default:
		tb.Fatalf("DynamoDB test server: %v", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
