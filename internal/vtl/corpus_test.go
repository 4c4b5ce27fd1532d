package vtl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The corpus: testdata/corpus/*.txt hold templates, each after a line
// "=== name", its text running to the next "===" or "--- data" line (the
// newline before that line is not part of it: end a template with an
// empty line to give it a final newline). "--- data" starts a JSON object
// whose members are the template's variables. A name ending in " crlf"
// has its newlines turned into CR LF.
//
// testdata/velocity-1.7.json holds what Apache Velocity 1.7 renders for
// each ("ERROR" for a template it refuses or an exception). With Java and
// Debian's velocity package present, TestVelocityDifferential renders the
// corpus with Velocity itself and compares; -update rewrites the file.

var update = flag.Bool("update", false, "rewrite testdata/velocity-1.7.json from Apache Velocity")

type corpusCase struct {
	name, file string
	src        string
	data       string
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var cases []corpusCase
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cur *corpusCase
		var lines []string
		inData := false
		flush := func() {
			if cur == nil {
				return
			}
			text := strings.Join(lines, "\n")
			if inData {
				cur.data = text
			} else {
				cur.src = text
			}
			lines = nil
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "=== "):
				flush()
				if cur != nil {
					cases = append(cases, *cur)
				}
				name := strings.TrimPrefix(line, "=== ")
				if seen[name] {
					t.Fatalf("%s: case %q twice", f, name)
				}
				seen[name] = true
				cur = &corpusCase{name: name, file: f}
				inData = false
			case line == "--- data" && cur != nil:
				flush()
				inData = true
			case cur != nil:
				lines = append(lines, line)
			}
		}
		flush()
		if cur != nil {
			cases = append(cases, *cur)
		}
	}
	for i := range cases {
		if strings.HasSuffix(cases[i].name, " crlf") {
			cases[i].src = strings.ReplaceAll(cases[i].src, "\n", "\r\n")
		}
	}
	return cases
}

func (c corpusCase) vars(t testing.TB) Vars {
	vars := Vars{"util": UtilValue}
	if c.data == "" {
		return vars
	}
	v, err := ParseJSON([]byte(c.data))
	if err != nil || v.Map() == nil {
		t.Fatalf("%s: data: %v", c.name, err)
	}
	v.Map().Range(func(k, v Value) bool {
		vars[k.s] = v
		return true
	})
	return vars
}

func render(t testing.TB, c corpusCase) string {
	tp, err := Parse(c.name, c.src)
	if err != nil {
		return "ERROR"
	}
	out, err := tp.Append(nil, c.vars(t))
	if err != nil {
		return "ERROR"
	}
	return string(out)
}

const goldenFile = "testdata/velocity-1.7.json"

func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run TestVelocityDifferential -update with Java and velocity installed)", err)
	}
	want := map[string]string{}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Errorf("corpus has %d templates, want at least 200", len(cases))
	}
	for _, c := range cases {
		w, ok := want[c.name]
		if !ok {
			t.Errorf("%s: not in %s (run the differential test with -update)", c.name, goldenFile)
			continue
		}
		if got := render(t, c); got != w {
			t.Errorf("%s (%s):\ntemplate: %q\ngot:      %q\nvelocity: %q", c.name, c.file, c.src, got, w)
		}
	}
}

// velocityClasspath finds Debian's velocity package and its dependencies.
func velocityClasspath() (string, bool) {
	jars := []string{"velocity.jar", "commons-collections3.jar", "commons-lang.jar"}
	var cp []string
	for _, j := range jars {
		p := filepath.Join("/usr/share/java", j)
		if _, err := os.Stat(p); err != nil {
			return "", false
		}
		cp = append(cp, p)
	}
	return strings.Join(cp, string(os.PathListSeparator)), true
}

// TestVelocityDifferential renders the corpus with Apache Velocity 1.7 in
// one JVM and compares with the recorded outputs (which TestCorpus
// compares with this engine's).
func TestVelocityDifferential(t *testing.T) {
	java, errJava := exec.LookPath("java")
	javac, errJavac := exec.LookPath("javac")
	cp, okCP := velocityClasspath()
	if errJava != nil || errJavac != nil || !okCP {
		t.Skip("java, javac or Debian's velocity package (/usr/share/java/velocity.jar) is missing: apt-get install -y velocity default-jdk-headless")
	}
	cases := loadCorpus(t)
	dir := t.TempDir()
	classes := filepath.Join(dir, "classes")
	in := filepath.Join(dir, "in")
	for _, d := range []string{classes, in} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(javac, "-nowarn", "-d", classes, "-cp", cp, "testdata/velocity/Render.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = strings.Repeat("0", 5-len(itoa(i))) + itoa(i)
		if err := os.WriteFile(filepath.Join(in, ids[i]+".vtl"), []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if c.data != "" {
			if err := os.WriteFile(filepath.Join(in, ids[i]+".json"), []byte(c.data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	const marker = "\x01--vtl-case-7f3a--"
	cmd := exec.Command(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classes+string(os.PathListSeparator)+cp, "Render", in, marker)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("velocity: %v\n%s", err, stderr.Bytes())
	}
	got := map[string]string{}
	for _, part := range strings.Split(string(out), marker+" ")[1:] {
		id, body, _ := strings.Cut(part, "\n")
		body = strings.TrimSuffix(body, "\n")
		if strings.HasPrefix(body, "ERROR ") && !strings.Contains(body, "\n") {
			body = "ERROR"
		}
		got[id] = body
	}
	velocity := map[string]string{}
	for i, c := range cases {
		v, ok := got[ids[i]]
		if !ok {
			t.Fatalf("velocity printed nothing for %s", c.name)
		}
		velocity[c.name] = v
		if mine := render(t, c); mine != v {
			t.Errorf("%s (%s):\ntemplate: %q\nvtl:      %q\nvelocity: %q", c.name, c.file, c.src, mine, v)
		}
	}
	if *update {
		names := make([]string, 0, len(velocity))
		for n := range velocity {
			names = append(names, n)
		}
		sort.Strings(names)
		b, _ := json.MarshalIndent(velocity, "", "\t")
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	if err := json.Unmarshal(b, &recorded); err != nil {
		t.Fatal(err)
	}
	for name, v := range velocity {
		if recorded[name] != v {
			t.Errorf("%s: %s is stale (run with -update)", name, goldenFile)
		}
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
