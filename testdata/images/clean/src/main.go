// Command hello is the static binary of the clean end-to-end fixture image
// (testdata/images/clean). The e2e package builds it with CGO_ENABLED=0 at test time.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	check := flag.Bool("check", false, "exit 0 if the binary runs (a health check)")
	flag.Parse()
	if *check {
		os.Exit(0)
	}
	fmt.Println("hello from a clean image")
}
