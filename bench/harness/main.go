// Command harness is the Go half of bench/run.sh. It has one subcommand per
// step the shell script cannot do well by itself:
//
//	harness ports N                 print N free loopback TCP ports
//	harness wait -url URL           wait until URL answers (any status)
//	harness setup -admin URL ...    create the benchmark's API, usage plan, API key,
//	                                IAM user and Lambda function through apigw's
//	                                admin API (aws-sdk-go-v2) and check each route
//	harness sign -url URL ...       sign a GET for execute-api (SigV4) and print the
//	                                headers that wrk replays
//	harness report -dir DIR         turn wrk's outputs into the Markdown table and
//	                                write it into BENCHMARKS.md between markers
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "ports":
		err = ports(args)
	case "wait":
		err = wait(args)
	case "setup":
		err = setup(args)
	case "sign":
		err = sign(args)
	case "report":
		err = report(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: harness ports|wait|setup|sign|report [flags]")
	os.Exit(2)
}
