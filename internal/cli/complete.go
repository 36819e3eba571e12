package cli

import (
	"context"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Shell completion of the client verbs (cobra's __complete calls
// completeVerb with the words so far): their options, and program and
// group names asked from the daemon the words point at (-c, -s, ...).

// completeTimeout bounds the daemon query: a shell must not hang on a
// daemon that does not answer.
const completeTimeout = 2 * time.Second

// completionSignals are what `signal` offers first (any name or number works).
var completionSignals = []string{"HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "CONT", "STOP", "TTIN", "TTOU", "WINCH"}

// fileOptions take a path: the shell completes files after them.
var fileOptions = []string{"-c", "--configuration", "--password-file", "--cacert", "--cert", "--key"}

// valueOptions take a value the shell cannot guess.
var valueOptions = []string{"-s", "--serverurl", "-u", "--username", "-p", "--password", "--batch"}

func completeVerb(v *ctlVerb, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if n := len(args); n > 0 {
		switch prev := args[n-1]; {
		case slices.Contains(fileOptions, prev):
			return nil, cobra.ShellCompDirectiveDefault
		case slices.Contains(valueOptions, prev):
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
	if strings.HasPrefix(toComplete, "-") {
		var out []string
		for _, o := range verbOptions(v) {
			for _, name := range o.names() {
				if strings.HasPrefix(name, toComplete) {
					out = append(out, name)
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
	f, pos, err := parseVerbArgs(args, ctlFlags{native: true}, true)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	pos = slices.DeleteFunc(pos, func(a string) bool { return strings.HasPrefix(a, "-") })
	var cands []string
	switch v.name {
	case "signal":
		if len(pos) == 0 {
			return prefixed(completionSignals, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		cands = daemonNames(f, v.name)
	case "tail":
		if len(pos) == 1 {
			return prefixed([]string{"stdout", "stderr"}, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		if len(pos) == 0 {
			cands = daemonNames(f, v.name)
		}
	case "fg":
		if len(pos) == 0 {
			cands = daemonNames(f, v.name)
		}
	case "status", "start", "stop", "restart", "reload", "clear", "pid", "update", "add", "remove":
		cands = daemonNames(f, v.name)
	}
	cands = slices.DeleteFunc(cands, func(c string) bool { return slices.Contains(pos, c) })
	return prefixed(cands, toComplete), cobra.ShellCompDirectiveNoFileComp
}

func prefixed(cands []string, p string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, p) {
			out = append(out, c)
		}
	}
	return out
}

// daemonNames asks the daemon what verb may name: processes (group:name,
// or name alone when it is its group's only name) and group:* for the
// process verbs, groups for update/remove, groups not yet added for add,
// and "all" where the verb takes it. Nothing when the daemon cannot be
// reached.
func daemonNames(f ctlFlags, verb string) []string {
	o, err := resolveCtlOptions(f, os.Args[0])
	if err != nil {
		return nil
	}
	c := newCtl(o, "drover", strings.NewReader(""), io.Discard, io.Discard)
	defer c.close()
	ctx, cancel := context.WithTimeout(context.Background(), completeTimeout)
	defer cancel()
	method := "getAllProcessInfo"
	if verb == "add" {
		method = "getAllConfigInfo"
	}
	v, err := c.call(ctx, method)
	list, _ := v.([]any)
	if err != nil || list == nil {
		return nil
	}
	groups := map[string]bool{}
	var procs []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		name, _ := m["name"].(string)
		group, _ := m["group"].(string)
		if name == "" || group == "" {
			continue
		}
		if verb == "add" {
			if inuse, _ := m["inuse"].(bool); !inuse {
				groups[group] = true
			}
			continue
		}
		groups[group] = true
		if group == name {
			procs = append(procs, name)
		} else {
			procs = append(procs, group+":"+name)
		}
	}
	var out []string
	switch verb {
	case "update", "remove", "add":
		for g := range groups {
			out = append(out, g)
		}
	case "tail", "fg", "clear", "pid":
		out = procs
	default:
		out = procs
		for g := range groups {
			out = append(out, g+":*")
		}
	}
	sort.Strings(out)
	switch verb {
	case "status", "start", "stop", "restart", "reload", "signal", "clear", "pid", "update":
		out = append(out, "all")
	}
	return out
}
