// Package e2e is drover's end-to-end compatibility suite (build tag e2e):
// the same config, commands and XML-RPC calls run against the real
// supervisord 4.2.5 and against drover, and their answers are compared.
// See README.md for what it covers and the differences it knows about.
package e2e
