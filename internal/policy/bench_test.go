package policy

import "testing"

// A typical identity policy of an API caller: one route allowed outright, one
// from an address range, and a Deny on deletes.
const benchPolicy = `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadSample",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/GET/sample"
        },
        {
            "Sid": "WriteItemsFromOffice",
            "Effect": "Allow",
            "Action": ["execute-api:Invoke", "execute-api:InvalidateCache"],
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/POST/items/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.0/24"]}}
        },
        {
            "Sid": "NoDeletes",
            "Effect": "Deny",
            "Action": "execute-api:*",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/*/DELETE/*"
        }
    ]
}`

func benchRequests(b testing.TB) (*Document, []*Request) {
	d := mustParse(b, benchPolicy, ParseOptions{ForbidPrincipal: true})
	ctx := MapContext(map[string][]string{"aws:SourceIp": {"192.0.2.44"}, "aws:SecureTransport": {"true"}})
	const api = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234"
	return d, []*Request{
		{Action: "execute-api:Invoke", Resource: api + "/prod/GET/sample", Context: ctx},       // Allow
		{Action: "execute-api:Invoke", Resource: api + "/prod/POST/items/42", Context: ctx},    // Allow, condition
		{Action: "execute-api:Invoke", Resource: api + "/prod/DELETE/items/42", Context: ctx},  // Deny
		{Action: "execute-api:Invoke", Resource: api + "/prod/GET/other/path/x", Context: ctx}, // NotApplicable
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	d, reqs := benchRequests(t)
	want := []Effect{Allow, Allow, Deny, NotApplicable}
	for i, r := range reqs {
		if got := d.Evaluate(r); got != want[i] {
			t.Fatalf("request %d: %v, want %v", i, got, want[i])
		}
	}
	if n := testing.AllocsPerRun(200, func() {
		for _, r := range reqs {
			d.Evaluate(r)
		}
	}); n != 0 {
		t.Errorf("Evaluate allocates %v times per 4 requests", n)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	d, reqs := benchRequests(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Evaluate(reqs[i%len(reqs)])
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse([]byte(benchPolicy)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchWildcard(b *testing.B) {
	b.ReportAllocs()
	p := "arn:aws:execute-api:*:123456789012:abcdef1234/*/GET/items/*"
	s := "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/items/42/detail"
	for b.Loop() {
		MatchWildcard(p, s, false)
	}
}
