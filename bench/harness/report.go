package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Markers of the harness's section in BENCHMARKS.md. Everything between
// them (inclusive) is replaced on each run.
const (
	startMarker = "<!-- bench:start -->"
	endMarker   = "<!-- bench:end -->"
)

// result is one wrk run with the CPU the script read around it.
type result struct {
	meta map[string]string
	id   string

	group, role, label string
	conns              int

	requests   int64
	rate       float64
	p50, p99   time.Duration
	non2xx     int64
	sockErrors string // "" when all zero
	sockTotal  int64

	cpuPerReq     time.Duration // the proxy process (for the backend row: the backend)
	backendPerReq time.Duration // the backend process
	extraPerReq   time.Duration // descendants of the proxy (Lambda workers)
	statuses      string        // status census of a run that had non-2xx answers

	elapsed time.Duration // the measured run, as wrk reports it
	// otherPct is the CPU the rest of the machine used during the run, in
	// % of one core: all busy time less the proxy's, the backend's, the
	// function workers' and wrk's. stealPct is the time the hypervisor gave
	// to other guests.
	otherPct, stealPct float64
	hasOther           bool
}

// readKV reads key=value lines.
func readKV(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m, sc.Err()
}

var (
	reRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h),`)
	reRate     = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s*(\d+)`)
	reSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePct      = regexp.MustCompile(`(?m)^\s*(50|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
)

// parseWrk reads wrk --latency output.
func parseWrk(r *result, out string) error {
	m := reRequests.FindStringSubmatch(out)
	if m == nil {
		return errors.New("no request count in wrk output")
	}
	r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	r.elapsed = duration(m[2], m[3])
	if m = reRate.FindStringSubmatch(out); m == nil {
		return errors.New("no Requests/sec in wrk output")
	}
	r.rate, _ = strconv.ParseFloat(m[1], 64)
	if m = reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m = reSocket.FindStringSubmatch(out); m != nil {
		var parts []string
		for i, name := range []string{"connect", "read", "write", "timeout"} {
			n, _ := strconv.ParseInt(m[i+1], 10, 64)
			r.sockTotal += n
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", name, n))
			}
		}
		r.sockErrors = strings.Join(parts, ", ")
	}
	for _, m := range rePct.FindAllStringSubmatch(out, -1) {
		d := duration(m[2], m[3])
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return errors.New("no latency distribution in wrk output (run it with --latency)")
	}
	return nil
}

// duration reads wrk's "940.00" "us".
func duration(v, unit string) time.Duration {
	f, _ := strconv.ParseFloat(v, 64)
	return time.Duration(f * map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[unit])
}

func perRequest(ticks string, clk float64, requests int64) time.Duration {
	t, err := strconv.ParseFloat(ticks, 64)
	if err != nil || requests == 0 || clk == 0 {
		return 0
	}
	return time.Duration(t / clk / float64(requests) * 1e9)
}

func loadResults(dir string) ([]*result, error) {
	metas, err := filepath.Glob(filepath.Join(dir, "*.meta"))
	if err != nil {
		return nil, err
	}
	sort.Strings(metas)
	var rs []*result
	for _, path := range metas {
		m, err := readKV(path)
		if err != nil {
			return nil, err
		}
		r := &result{meta: m, id: m["id"], group: m["group"], role: m["role"], label: m["label"]}
		r.conns, _ = strconv.Atoi(m["conns"])
		out, err := os.ReadFile(filepath.Join(dir, m["wrk"]))
		if err != nil {
			return nil, err
		}
		if err := parseWrk(r, string(out)); err != nil {
			return nil, fmt.Errorf("%s: %w", m["wrk"], err)
		}
		clk, _ := strconv.ParseFloat(m["clk_tck"], 64)
		r.cpuPerReq = perRequest(m["ticks"], clk, r.requests)
		r.backendPerReq = perRequest(m["backend_ticks"], clk, r.requests)
		r.extraPerReq = perRequest(m["extra_ticks"], clk, r.requests)
		if m["machine_ticks"] != "" && clk > 0 && r.elapsed > 0 {
			n := func(k string) float64 { v, _ := strconv.ParseFloat(m[k], 64); return v }
			other := n("machine_ticks") - n("ticks") - n("extra_ticks") - n("wrk_ticks")
			if r.role != "backend" {
				other -= n("backend_ticks")
			}
			pct := func(ticks float64) float64 { return max(0, ticks/clk/r.elapsed.Seconds()*100) }
			r.otherPct, r.stealPct, r.hasOther = pct(other), pct(n("steal_ticks")), true
		}
		if f := m["statuses"]; f != "" {
			if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
				r.statuses = strings.Join(strings.Fields(string(b)), " ")
			}
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no results in %s", dir)
	}
	return rs, nil
}

func us(d time.Duration) string {
	v := float64(d) / 1e3
	switch {
	case d == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f µs", v)
	case v >= 10:
		return fmt.Sprintf("%.1f µs", v)
	default:
		return fmt.Sprintf("%.2f µs", v)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// report prints the Markdown section and, with -md, writes it into that
// file between the markers (appending it when they are absent).
func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory of bench/run.sh")
	md := fs.String("md", "", "Markdown file to write the section into (none: print only)")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-dir is required")
	}
	info, err := readKV(filepath.Join(*dir, "run.info"))
	if err != nil {
		return err
	}
	rs, err := loadResults(*dir)
	if err != nil {
		return err
	}
	section := render(info, rs)
	fmt.Print(section)
	if *md == "" {
		return nil
	}
	return splice(*md, section)
}

// accountRate is apigw's account throttle (internal/gateway/meter.go,
// DefaultAccountRate), which the harness cannot raise.
const accountRate = 10000

// disturbedPct is how much CPU (% of one core) the rest of the machine may
// use during a run before the run is flagged as disturbed.
const disturbedPct = 15

func (r *result) okRate() float64 {
	if r.requests == 0 {
		return 0
	}
	return r.rate * float64(r.requests-r.non2xx) / float64(r.requests)
}

func render(info map[string]string, rs []*result) string {
	byRole := map[string]*result{} // group/role of the first such row
	for _, r := range rs {
		if k := r.group + "/" + r.role; byRole[k] == nil {
			byRole[k] = r
		}
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s\n## Load harness: apigw next to nginx and the backend alone (`bench/run.sh`)\n\n", startMarker)
	w("Written by `bench/run.sh` on %s; replaced on each run (edit the script, not this section).\n\n", info["date"])
	w("- Command: `%s`\n", info["command"])
	w("- Machine: %s cores, %s, Linux %s\n", info["nproc"], info["cpu"], info["kernel"])
	w("- Versions: %s, nginx %s, %s, apigw %s\n", info["go"], info["nginx"], info["wrk"], info["commit"])
	w("- Load: wrk, %s thread, %s connections (AWS_PROXY: %s), %s after a %s warm-up, on loopback; the backend answers `/small` (128 bytes of JSON) or `/large` (4 KiB); MOCK and the function answer the same 128 bytes.\n",
		info["threads"], info["conns"], info["lambda_conns"], info["duration"], info["warmup"])
	w("- req/s counts every answer, 2xx/s only the 2xx ones; ratios are to nginx with the same body size (HTTPS rows: to nginx over HTTPS with the same connection reuse).\n")
	w("- CPU/req: user+system time of the proxy process (`/proc/PID/stat`) during the measured run, over all its requests; nginx is master+worker; the backend-alone row is the backend; \"fn\" is apigw's function workers. Backend CPU/req is the backend's in the same run.\n")
	w("- Other CPU / steal, in %% of one core during the run: the machine's busy time (`/proc/stat`) less the proxy, backend, function workers and wrk; and the time the hypervisor gave to other guests. Above %d %% the row is flagged as disturbed.\n\n", disturbedPct)

	w("| # | scenario | req/s | 2xx/s | 2xx/s × nginx | p50 | p99 | p99 over backend | CPU/req | CPU/req × nginx | backend CPU/req | non-2xx | other CPU / steal |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var notes []string
	throttled := false
	for _, r := range rs {
		ng, be := byRole[r.group+"/nginx"], byRole[r.group+"/backend"]
		rateX, cpuX, overBackend := "–", "–", "–"
		if ng != nil && r.role != "backend" {
			rateX = ratio(r.okRate(), ng.okRate())
			cpuX = ratio(float64(r.cpuPerReq), float64(ng.cpuPerReq))
		}
		if be != nil && r.role != "backend" {
			overBackend = fmt.Sprintf("%+.2f ms", float64(r.p99-be.p99)/1e6)
		}
		cpu := us(r.cpuPerReq)
		if r.extraPerReq > 0 {
			cpu += " (+" + us(r.extraPerReq) + " fn)"
		}
		label := r.label
		if c, _ := strconv.Atoi(info["conns"]); c != 0 && r.conns != c {
			label += fmt.Sprintf(" (%d conns)", r.conns)
		}
		non2xx := strconv.FormatInt(r.non2xx, 10)
		if r.non2xx > 0 {
			non2xx = fmt.Sprintf("**%d** (%.0f %%)", r.non2xx, 100*float64(r.non2xx)/float64(r.requests))
		}
		row := strings.TrimLeft(r.id, "0")
		other := "–"
		if r.hasOther {
			other = fmt.Sprintf("%.0f %% / %.0f %%", r.otherPct, r.stealPct)
			if r.otherPct > disturbedPct || r.stealPct > disturbedPct {
				other = "**" + other + "**"
				notes = append(notes, fmt.Sprintf("Row %s (%s) was disturbed: other processes used %.0f %% of a core during it, and the hypervisor took %.0f %% of a core (steal).",
					row, r.label, r.otherPct, r.stealPct))
			}
		}
		w("| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			row, label, r.rate, r.okRate(), rateX, ms(r.p50), ms(r.p99), overBackend, cpu, cpuX, us(r.backendPerReq), non2xx, other)
		if r.non2xx > 0 || r.sockTotal > 0 {
			n := fmt.Sprintf("Row %s (%s): %d non-2xx answers of %d requests", row, r.label, r.non2xx, r.requests)
			if r.sockErrors != "" {
				n += ", socket errors: " + r.sockErrors
			}
			if r.statuses != "" {
				n += "; a 2 s census run right after it (wrk counting statuses in Lua, slower, so a throttle may refuse fewer) saw " + r.statuses
			}
			notes = append(notes, n+".")
		}
		if strings.HasPrefix(r.role, "apigw") && r.non2xx > 0 && r.okRate() > 0.9*accountRate {
			throttled = true
		}
	}
	w("\n")
	if throttled {
		notes = append([]string{fmt.Sprintf("**The account throttle caps apigw here.** apigw applies an account-wide token bucket "+
			"(%d req/s, burst 5000: `DefaultAccountRate`/`DefaultAccountBurst` in internal/gateway/meter.go, not configurable) and answers 429 past it. "+
			"Rows with non-2xx answers near %d 2xx/s hit it: their 2xx/s is the throttle, not apigw's capacity, and their req/s, latencies and CPU/req "+
			"mix in cheap 429 answers.", accountRate, accountRate)}, notes...)
	}

	// The targets of issue 6, from this run.
	ng, pr := byRole["small/nginx"], byRole["small/apigw-proxy"]
	key, sig, be := byRole["small/apigw-key"], byRole["small/apigw-iam"], byRole["small/backend"]
	keyRedis := byRole["small/apigw-key-redis"]
	if ng != nil && pr != nil {
		w("Targets (issue 6), from this run (2xx rates):\n\n")
		// 429 answers bias a figure: rows in lower are capped (their 2xx/s
		// is too low), rows in flatter look better than they are (cheap
		// 429s lower CPU/req and latency, or a capped denominator raises
		// a ratio). A verdict stands only when the bias works against it.
		type rows []*result
		mark := func(ok bool, lower, flatter rows) string {
			first := func(rs rows) *result {
				for _, r := range rs {
					if r.non2xx > 0 {
						return r
					}
				}
				return nil
			}
			l, f := first(lower), first(flatter)
			switch {
			case !ok && l != nil:
				return "**missed**, not conclusively: row " + strings.TrimLeft(l.id, "0") + " is capped by the account throttle"
			case ok && f != nil:
				return "met, not conclusively: row " + strings.TrimLeft(f.id, "0") + "'s 429 answers flatter it"
			case !ok && f != nil:
				return "**missed**, even with row " + strings.TrimLeft(f.id, "0") + "'s 429 answers flattering it"
			case ok:
				return "met"
			}
			return "**missed**"
		}
		rr := pr.okRate() / ng.okRate()
		verdict := mark(rr >= 0.75, rows{pr}, nil)
		if need := 0.75 * ng.okRate(); rr < 0.75 && pr.non2xx > 0 && need > accountRate {
			verdict += fmt.Sprintf(" (the target needs %.0f 2xx/s, above the throttle)", need)
		}
		w("- apigw `HTTP_PROXY` rate / nginx: %.2f (target ≥ 0.75): %s\n", rr, verdict)
		cr := float64(pr.cpuPerReq) / float64(ng.cpuPerReq)
		w("- apigw `HTTP_PROXY` CPU/req / nginx: %.2f (target ≤ 1.5): %s\n", cr, mark(cr <= 1.5, nil, rows{pr}))
		if key != nil {
			kr := key.okRate() / pr.okRate()
			w("- API key + usage plan rate / apigw no-auth: %.2f (target ≥ 0.9): %s\n", kr, mark(kr >= 0.9, rows{key}, rows{pr}))
		}
		if keyRedis != nil {
			kr := keyRedis.okRate() / pr.okRate()
			w("- API key + usage plan on Redis limits rate / apigw no-auth: %.2f (target ≥ 0.8, issue 14): %s\n", kr, mark(kr >= 0.8, rows{keyRedis}, rows{pr}))
		}
		if sig != nil {
			sr := sig.okRate() / pr.okRate()
			w("- `AWS_IAM` rate / apigw no-auth: %.2f (target ≥ 0.9): %s\n", sr, mark(sr >= 0.9, rows{sig}, rows{pr}))
		}
		if be != nil {
			d := pr.p99 - be.p99
			w("- apigw no-auth p99 over the backend alone: %.2f ms (target < 1 ms): %s\n", float64(d)/1e6, mark(d < time.Millisecond, nil, rows{pr}))
		}
		w("\n")
	}
	w("%s", tlsTargets(byRole))
	if len(notes) == 0 {
		notes = append(notes, "Every response was 2xx and wrk saw no socket errors.")
	}
	if n := info["notes"]; n != "" {
		notes = append(notes, strings.Split(n, " | ")...)
	}
	for _, n := range notes {
		w("- %s\n", n)
	}
	w("%s\n", endMarker)
	return b.String()
}

// tlsTargets are the HTTPS targets of issue 12 from the rows of groups
// tls (keep-alive) and tlsnew (a new connection per request), or "".
func tlsTargets(byRole map[string]*result) string {
	ng, pr := byRole["tls/nginx"], byRole["tls/apigw-proxy"]
	if ng == nil || pr == nil || ng.okRate() == 0 {
		return ""
	}
	var b strings.Builder
	rr := pr.okRate() / ng.okRate()
	verdict := "**missed**"
	if rr >= 0.75 {
		verdict = "met"
	}
	if pr.non2xx > 0 || ng.non2xx > 0 {
		verdict += ", not conclusively: non-2xx answers in rows " + strings.TrimLeft(ng.id, "0") + "/" + strings.TrimLeft(pr.id, "0")
	}
	b.WriteString("Targets (issue 12), from this run (2xx rates):\n\n")
	fmt.Fprintf(&b, "- apigw `HTTP_PROXY` over HTTPS rate / nginx over HTTPS (TLS 1.3, keep-alive): %.2f (target ≥ 0.75): %s\n", rr, verdict)
	if hn, hp := byRole["tlsnew/nginx"], byRole["tlsnew/apigw-proxy"]; hn != nil && hp != nil && hn.okRate() > 0 {
		fmt.Fprintf(&b, "- new TLS connections per second (a full handshake per request): apigw %.0f, nginx %.0f (%.2f × nginx)\n",
			hp.okRate(), hn.okRate(), hp.okRate()/hn.okRate())
	}
	b.WriteString("\n")
	return b.String()
}

// splice replaces the marked section of path with section, or appends it.
func splice(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	var out string
	i, j := strings.Index(s, startMarker), strings.Index(s, endMarker)
	switch {
	case i >= 0 && j > i:
		j += len(endMarker)
		if j < len(s) && s[j] == '\n' {
			j++
		}
		out = s[:i] + section + s[j:]
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s has only one of the markers %s and %s", path, startMarker, endMarker)
	default:
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		if s != "" {
			s += "\n"
		}
		out = s + section
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
