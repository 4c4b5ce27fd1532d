package server_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apigw/apigw/internal/apigwtest"
)

// notImplemented lists the apigateway operations apigw does not answer yet
// (issue 16). TestBotocoreOperations fails when one of them starts to
// answer, so that the list, and the count in README, stay true.
var notImplemented = []string{}

// queryDispatched are operations that share their method and path with
// another and differ by a query parameter (POST /restapis?mode=import is
// ImportRestApi, POST /restapis CreateRestApi): a probe cannot tell whether
// such an operation is answered, so the list above is trusted for them.
func queryDispatched(uri string) bool { return strings.Contains(uri, "?") }

// TestBotocoreOperations walks botocore's apigateway model and sends each
// operation's method and path (its labels filled with placeholders) to
// apigw: every operation not in notImplemented must get an answer other
// than UnknownOperationException, and every one in it must still get that
// answer. It logs the count that README reports.
func TestBotocoreOperations(t *testing.T) {
	const script = `import botocore, glob, gzip, json, os
d = os.path.dirname(botocore.__file__)
f = sorted(glob.glob(d + '/data/apigateway/*/service-2.json*'))[-1]
m = json.load(gzip.open(f) if f.endswith('.gz') else open(f))
print(json.dumps({n: [o['http']['method'], o['http']['requestUri']] for n, o in m['operations'].items()}))`
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is not installed: botocore's model cannot be read")
	}
	out, err := exec.Command("python3", "-c", script).Output()
	if err != nil {
		t.Skipf("botocore is not importable by python3 (%v): skipping the walk of its operations", err)
	}
	var ops map[string][2]string
	if err := json.Unmarshal(out, &ops); err != nil {
		t.Fatal(err)
	}
	in := apigwtest.Start(t)
	label := regexp.MustCompile(`\{[^}]+\}`)
	var answered, missing []string
	for name, op := range ops {
		uri := label.ReplaceAllString(op[1], "x")
		resp, body := mgRawAdmin(t, in, op[0], uri, []byte("{}"), "")
		unknown := resp.Header.Get("x-amzn-ErrorType") == "UnknownOperationException"
		listed := slices.Contains(notImplemented, name)
		switch {
		case queryDispatched(op[1]) && listed:
			missing = append(missing, name)
		case queryDispatched(op[1]):
			answered = append(answered, name)
		case unknown && !listed:
			t.Errorf("%s (%s %s) is not answered: %s", name, op[0], op[1], body)
			missing = append(missing, name)
		case !unknown && listed:
			t.Errorf("%s (%s %s) is answered (%d %s): remove it from notImplemented and update README's count", name, op[0], op[1], resp.StatusCode, body)
			answered = append(answered, name)
		case unknown:
			missing = append(missing, name)
		default:
			answered = append(answered, name)
		}
	}
	sort.Strings(missing)
	t.Logf("apigw answers %d of botocore's %d apigateway operations; not yet: %s", len(answered), len(ops), strings.Join(missing, ", "))
	if os.Getenv("APIGW_LIST_OPERATIONS") != "" {
		sort.Strings(answered)
		t.Logf("answered: %s", strings.Join(answered, ", "))
	}
}
