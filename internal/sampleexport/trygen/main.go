package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/conveyor-migrate/conveyor/internal/sampleexport"
)

func main() {
	n, _ := strconv.Atoi(os.Args[2])
	opt := sampleexport.Options{Matters: n, Seed: 1, Messy: len(os.Args) > 3 && os.Args[3] == "messy", LargeDocumentBytes: 64 << 10}
	if len(os.Args) > 4 {
		opt.Format = os.Args[4]
	}
	if len(os.Args) > 5 {
		opt.LargeDocumentBytes = 0
	}
	t := time.Now()
	s, err := sampleexport.Write(os.Args[1], opt)
	fmt.Println(time.Since(t), err)
	total := 0
	for k, v := range s.Rows {
		total += v
		fmt.Println(k, v)
	}
	fmt.Println("total", total, "per matter", float64(total)/float64(n), "docs", s.Documents, s.DocumentBytes, "files", len(s.Files))
	fmt.Println(s.Planted)
}
