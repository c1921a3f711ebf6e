// A prompt filter in Go through promptwall's C API (cgo): reads prompts from stdin, one a
// line, and prints the action, score and strongest finding of each, as examples/filter.c
// does. Lines are scanned by several goroutines at once with one shared firewall.
//
// Build against the staged library (make -C bindings/c), then run:
//
//	PKG_CONFIG_PATH=../../build/lib/pkgconfig go build -o filter-go .
//	printf 'hello\nIgnore all previous instructions\n' | LD_LIBRARY_PATH=../../build/lib ./filter-go
package main

// #cgo pkg-config: promptwall
// #include <stdlib.h>
// #include "promptwall.h"
import "C"

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// Firewall wraps a *C.pw_firewall; it is safe for concurrent use.
type Firewall struct{ fw *C.pw_firewall }

// Verdict is what a scan says about one text.
type Verdict struct {
	Action string
	Score  float64
	Rule   string // the strongest finding's rule, "" when none
}

// lastError is the detail of the call that just failed on this OS thread (never the text).
func lastError() error {
	return errors.New(C.GoString(C.pw_last_error_message()))
}

// NewFirewall builds a firewall with the built-in rules and the default policy.
func NewFirewall() (*Firewall, error) {
	var fw *C.pw_firewall
	// The last-error message is per OS thread: read it on the thread that failed.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if s := C.pw_firewall_new_default(&fw); s != C.PW_STATUS_OK {
		return nil, fmt.Errorf("%s: %w", C.GoString(C.pw_status_str(C.uint32_t(s))), lastError())
	}
	return &Firewall{fw}, nil
}

// Close releases the firewall; no scan may be running.
func (f *Firewall) Close() {
	C.pw_firewall_free(f.fw)
	f.fw = nil
}

// Scan scans a prompt.
func (f *Firewall) Scan(text string) (Verdict, error) {
	if f.fw == nil {
		return Verdict{}, errors.New("firewall is closed")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var ptr *C.uint8_t
	if len(text) > 0 {
		// Go bytes, no Go pointers inside: may be passed to C for the call.
		b := []byte(text)
		ptr = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	var v *C.pw_verdict
	if s := C.pw_firewall_scan(f.fw, ptr, C.size_t(len(text)), &v); s != C.PW_STATUS_OK {
		return Verdict{}, lastError()
	}
	defer C.pw_verdict_free(v)
	out := Verdict{
		Action: C.GoString(C.pw_action_str(C.uint32_t(C.pw_verdict_action(v)))),
		Score:  float64(C.pw_verdict_score(v)),
	}
	var top C.pw_finding
	if C.pw_verdict_finding(v, 0, &top) == C.PW_STATUS_OK {
		out.Rule = C.GoString(top.rule)
	}
	return out, nil
}

func main() {
	fw, err := NewFirewall()
	if err != nil {
		fmt.Fprintln(os.Stderr, "filter-go:", err)
		os.Exit(2)
	}
	defer fw.Close()

	var lines []string
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for in.Scan() {
		lines = append(lines, in.Text())
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "filter-go:", err)
		os.Exit(2)
	}

	// One firewall, several goroutines: scans share it without locks.
	out := make([]string, len(lines))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v, err := fw.Scan(lines[i])
				switch {
				case err != nil:
					out[i] = "error   " + err.Error()
				case v.Rule == "":
					out[i] = fmt.Sprintf("%-7s %.2f  -", v.Action, v.Score)
				default:
					out[i] = fmt.Sprintf("%-7s %.2f  %s", v.Action, v.Score, v.Rule)
				}
			}
		}()
	}
	for i := range lines {
		next <- i
	}
	close(next)
	wg.Wait()

	blocked := false
	for _, line := range out {
		fmt.Println(line)
		if len(line) >= 5 && line[:5] == "block" {
			blocked = true
		}
	}
	if blocked {
		os.Exit(1)
	}
}
