package policy

import (
	"testing"
)

// condHolds builds an Allow statement with one condition and reports whether
// it allows a request with the given context (nil: key absent).
func condHolds(t *testing.T, op, key, values string, ctx map[string][]string) bool {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",
	    "Condition":{"` + op + `":{"` + key + `":` + values + `}}}}`
	d := mustParse(t, doc, ParseOptions{})
	r := &Request{Action: "execute-api:Invoke", Resource: apiARN + "/p/GET/x"}
	if ctx != nil {
		r.Context = MapContext(ctx)
	}
	return d.Evaluate(r) == Allow
}

type condCase struct {
	name   string
	op     string
	values string   // JSON
	req    []string // values of the key in the request; nil: absent
	want   bool
}

func runCondCases(t *testing.T, key string, tests []condCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx map[string][]string
			if tt.req != nil {
				ctx = map[string][]string{key: tt.req}
			}
			if got := condHolds(t, tt.op, key, tt.values, ctx); got != tt.want {
				t.Errorf("%s %s=%v vs %s: %v, want %v", tt.op, key, tt.req, tt.values, got, tt.want)
			}
		})
	}
}

func TestStringConditions(t *testing.T) {
	runCondCases(t, "aws:SourceVpce", []condCase{
		{"StringEquals match", "StringEquals", `"vpce-1"`, []string{"vpce-1"}, true},
		{"StringEquals is case-sensitive", "StringEquals", `"vpce-1"`, []string{"VPCE-1"}, false},
		{"StringEquals no wildcards", "StringEquals", `"vpce-*"`, []string{"vpce-1"}, false},
		{"StringEquals values are ORed", "StringEquals", `["vpce-1","vpce-2"]`, []string{"vpce-2"}, true},
		{"StringEquals absent key", "StringEquals", `"vpce-1"`, nil, false},
		{"StringEquals empty value present", "StringEquals", `""`, []string{""}, true},
		{"StringNotEquals other", "StringNotEquals", `"vpce-1"`, []string{"vpce-2"}, true},
		{"StringNotEquals same", "StringNotEquals", `"vpce-1"`, []string{"vpce-1"}, false},
		{"StringNotEquals is none of (AND)", "StringNotEquals", `["vpce-1","vpce-2"]`, []string{"vpce-2"}, false},
		{"StringNotEquals none of", "StringNotEquals", `["vpce-1","vpce-2"]`, []string{"vpce-3"}, true},
		{"StringNotEquals absent key holds", "StringNotEquals", `"vpce-1"`, nil, true},
		{"StringEqualsIgnoreCase", "StringEqualsIgnoreCase", `"VPCE-1"`, []string{"vpce-1"}, true},
		{"StringEqualsIgnoreCase differs", "StringEqualsIgnoreCase", `"vpce-1"`, []string{"vpce-2"}, false},
		{"StringNotEqualsIgnoreCase same but case", "StringNotEqualsIgnoreCase", `"VPCE-1"`, []string{"vpce-1"}, false},
		{"StringNotEqualsIgnoreCase other", "StringNotEqualsIgnoreCase", `"VPCE-1"`, []string{"vpce-2"}, true},
		{"StringLike star", "StringLike", `"vpce-0*"`, []string{"vpce-0abc"}, true},
		{"StringLike question", "StringLike", `"vpce-?"`, []string{"vpce-1"}, true},
		{"StringLike is case-sensitive", "StringLike", `"VPCE-*"`, []string{"vpce-1"}, false},
		{"StringLike needs the wildcard", "StringLike", `"vpce"`, []string{"vpce-1"}, false},
		{"StringLike ORed", "StringLike", `["a*","vpce-*"]`, []string{"vpce-1"}, true},
		{"StringNotLike match", "StringNotLike", `"vpce-*"`, []string{"vpce-1"}, false},
		{"StringNotLike no match", "StringNotLike", `"vpce-*"`, []string{"x"}, true},
		{"StringNotLike none of", "StringNotLike", `["a*","b*"]`, []string{"bx"}, false},
		{"StringNotLike absent key holds", "StringNotLike", `"vpce-*"`, nil, true},
		{"number value as text", "StringEquals", `12`, []string{"12"}, true},
		{"operator name case", "stringequals", `"vpce-1"`, []string{"vpce-1"}, true},
	})
}

func TestIfExists(t *testing.T) {
	runCondCases(t, "aws:SourceVpce", []condCase{
		{"StringEqualsIfExists absent", "StringEqualsIfExists", `"vpce-1"`, nil, true},
		{"StringEqualsIfExists present match", "StringEqualsIfExists", `"vpce-1"`, []string{"vpce-1"}, true},
		{"StringEqualsIfExists present other", "StringEqualsIfExists", `"vpce-1"`, []string{"vpce-2"}, false},
		{"StringNotEqualsIfExists absent", "StringNotEqualsIfExists", `"vpce-1"`, nil, true},
		{"StringNotEqualsIfExists present same", "StringNotEqualsIfExists", `"vpce-1"`, []string{"vpce-1"}, false},
		{"StringLikeIfExists absent", "StringLikeIfExists", `"x*"`, nil, true},
		{"IpAddressIfExists absent", "IpAddressIfExists", `"10.0.0.0/8"`, nil, true},
		{"DateLessThanIfExists absent", "DateLessThanIfExists", `"2020-01-01"`, nil, true},
		{"ForAnyValue with IfExists absent", "ForAnyValue:StringEqualsIfExists", `"x"`, nil, true},
		{"empty values count as absent", "StringEqualsIfExists", `"x"`, []string{}, true},
	})
}

func TestNumericConditions(t *testing.T) {
	runCondCases(t, "aws:MultiFactorAuthAge", []condCase{
		{"equals", "NumericEquals", `"10"`, []string{"10"}, true},
		{"equals decimal forms", "NumericEquals", `"10.0"`, []string{"010"}, true},
		{"equals JSON number", "NumericEquals", `10`, []string{"10"}, true},
		{"not equals", "NumericNotEquals", `["1","2"]`, []string{"3"}, true},
		{"not equals one of", "NumericNotEquals", `["1","2"]`, []string{"2"}, false},
		{"less than", "NumericLessThan", `"3600"`, []string{"3599"}, true},
		{"less than equal value", "NumericLessThan", `"3600"`, []string{"3600"}, false},
		{"less than equals", "NumericLessThanEquals", `"3600"`, []string{"3600"}, true},
		{"greater than", "NumericGreaterThan", `"-1.5"`, []string{"-1.25"}, true},
		{"greater than negative", "NumericGreaterThan", `"-1.5"`, []string{"-2"}, false},
		{"greater than equals", "NumericGreaterThanEquals", `"0.5"`, []string{".5"}, true},
		{"big numbers exact", "NumericLessThan", `"123456789012345678901234567890"`, []string{"123456789012345678901234567889"}, true},
		{"zero signs", "NumericEquals", `"-0"`, []string{"0.000"}, true},
		{"request not a number", "NumericLessThan", `"10"`, []string{"abc"}, false},
		{"request not a number, negated", "NumericNotEquals", `"10"`, []string{"abc"}, true},
		{"policy not a number", "NumericEquals", `"ten"`, []string{"10"}, false},
		{"exponent is not a number", "NumericEquals", `"1e3"`, []string{"1000"}, false},
		{"absent", "NumericLessThan", `"10"`, nil, false},
	})
}

func TestDateConditions(t *testing.T) {
	runCondCases(t, "aws:CurrentTime", []condCase{
		{"before", "DateLessThan", `"2030-01-01T00:00:00Z"`, []string{"2025-06-01T12:00:00Z"}, true},
		{"after", "DateLessThan", `"2020-01-01T00:00:00Z"`, []string{"2025-06-01T12:00:00Z"}, false},
		{"date only", "DateGreaterThan", `"2025-06-01"`, []string{"2025-06-01T00:00:01Z"}, true},
		{"year only", "DateGreaterThanEquals", `"2025"`, []string{"2025-01-01T00:00:00Z"}, true},
		{"year-month", "DateLessThan", `"2025-02"`, []string{"2025-01-31T23:59:59Z"}, true},
		{"equals across zones", "DateEquals", `"2025-06-01T12:00:00+02:00"`, []string{"2025-06-01T10:00:00Z"}, true},
		{"not equals", "DateNotEquals", `"2025-06-01T12:00:00Z"`, []string{"2025-06-01T12:00:01Z"}, true},
		{"minutes only", "DateEquals", `"2025-06-01T12:00Z"`, []string{"2025-06-01T12:00:00Z"}, true},
		{"fraction", "DateLessThan", `"2025-06-01T12:00:00.5Z"`, []string{"2025-06-01T12:00:00.25Z"}, true},
		{"epoch policy value", "DateLessThan", `"1767225600"`, []string{"2025-06-01T00:00:00Z"}, true},
		{"epoch request value", "DateGreaterThan", `"2025-01-01T00:00:00Z"`, []string{"1767225600"}, true},
		{"epoch equals ISO", "DateEquals", `1735689600`, []string{"2025-01-01T00:00:00Z"}, true},
		{"less than equals same", "DateLessThanEquals", `"2025-01-01T00:00:00Z"`, []string{"2025-01-01T00:00:00Z"}, true},
		{"greater than same", "DateGreaterThan", `"2025-01-01T00:00:00Z"`, []string{"2025-01-01T00:00:00Z"}, false},
		{"invalid day", "DateEquals", `"2025-02-30"`, []string{"2025-03-02"}, false},
		{"request not a date", "DateLessThan", `"2030-01-01"`, []string{"tomorrow"}, false},
		{"absent", "DateLessThan", `"2030-01-01"`, nil, false},
	})
}

func TestBoolNullConditions(t *testing.T) {
	runCondCases(t, "aws:SecureTransport", []condCase{
		{"Bool true", "Bool", `"true"`, []string{"true"}, true},
		{"Bool JSON false", "Bool", `false`, []string{"false"}, true},
		{"Bool mismatch", "Bool", `"true"`, []string{"false"}, false},
		{"Bool case", "Bool", `"TRUE"`, []string{"true"}, true},
		{"Bool absent", "Bool", `"false"`, nil, false},
		{"Bool invalid policy value", "Bool", `"yes"`, []string{"true"}, false},
		{"Null true when absent", "Null", `"true"`, nil, true},
		{"Null true when present", "Null", `"true"`, []string{"true"}, false},
		{"Null false when present", "Null", `"false"`, []string{"true"}, true},
		{"Null false when absent", "Null", `false`, nil, false},
		{"Null with empty values", "Null", `"true"`, []string{}, true},
	})
}

func TestIPConditions(t *testing.T) {
	runCondCases(t, "aws:SourceIp", []condCase{
		{"in CIDR", "IpAddress", `"203.0.113.0/24"`, []string{"203.0.113.9"}, true},
		{"outside CIDR", "IpAddress", `"203.0.113.0/24"`, []string{"203.0.114.9"}, false},
		{"single address is /32", "IpAddress", `"203.0.113.9"`, []string{"203.0.113.9"}, true},
		{"single address other", "IpAddress", `"203.0.113.9"`, []string{"203.0.113.10"}, false},
		{"host bits in CIDR", "IpAddress", `"203.0.113.77/24"`, []string{"203.0.113.1"}, true},
		{"IPv6", "IpAddress", `"2001:DB8:1234:5678::/64"`, []string{"2001:db8:1234:5678::42"}, true},
		{"IPv6 outside", "IpAddress", `"2001:DB8:1234:5678::/64"`, []string{"2001:db8:1234:5679::42"}, false},
		{"IPv4 rule, IPv6 caller", "IpAddress", `"0.0.0.0/0"`, []string{"2001:db8::1"}, false},
		{"mixed list", "IpAddress", `["203.0.113.0/24","2001:DB8::/32"]`, []string{"2001:db8::1"}, true},
		{"mapped caller", "IpAddress", `"203.0.113.0/24"`, []string{"::ffff:203.0.113.9"}, true},
		{"NotIpAddress outside", "NotIpAddress", `"203.0.113.0/24"`, []string{"198.51.100.1"}, true},
		{"NotIpAddress inside", "NotIpAddress", `["10.0.0.0/8","203.0.113.0/24"]`, []string{"203.0.113.1"}, false},
		{"NotIpAddress absent", "NotIpAddress", `"203.0.113.0/24"`, nil, true},
		{"invalid policy CIDR", "IpAddress", `"203.0.113.0/33"`, []string{"203.0.113.1"}, false},
	})
}

func TestARNConditions(t *testing.T) {
	runCondCases(t, "aws:SourceArn", []condCase{
		{"ArnEquals exact", "ArnEquals", `"arn:aws:sns:us-east-1:123456789012:topic"`, []string{"arn:aws:sns:us-east-1:123456789012:topic"}, true},
		{"ArnLike wildcard region", "ArnLike", `"arn:aws:sns:*:123456789012:topic"`, []string{"arn:aws:sns:us-east-1:123456789012:topic"}, true},
		{"ArnEquals takes wildcards too", "ArnEquals", `"arn:aws:sns:*:123456789012:*"`, []string{"arn:aws:sns:us-east-1:123456789012:t"}, true},
		// The documentation's example: StringLike matches, ArnLike does not.
		{"ArnLike checks components", "ArnLike", `"arn:aws:someservice:*:111122223333:finance/*"`,
			[]string{"arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}, false},
		{"ArnLike resource part keeps colons", "ArnLike", `"arn:aws:lambda:*:*:function:*"`, []string{"arn:aws:lambda:us-east-1:1:function:f:alias"}, true},
		{"ArnLike case-sensitive", "ArnLike", `"arn:aws:sns:*:*:Topic"`, []string{"arn:aws:sns:r:1:topic"}, false},
		{"ArnLike star", "ArnLike", `"*"`, []string{"arn:aws:sns:r:1:topic"}, true},
		{"ArnLike not an ARN", "ArnLike", `"arn:aws:sns:*:*:*"`, []string{"topic"}, false},
		{"ArnNotEquals other", "ArnNotEquals", `"arn:aws:sns:*:*:a"`, []string{"arn:aws:sns:r:1:b"}, true},
		{"ArnNotLike same", "ArnNotLike", `"arn:aws:sns:*:*:a"`, []string{"arn:aws:sns:r:1:a"}, false},
		{"ArnNotLike absent", "ArnNotLike", `"arn:aws:sns:*:*:a"`, nil, true},
	})
	t.Run("StringLike on the same value matches", func(t *testing.T) {
		ctx := map[string][]string{"aws:SourceArn": {"arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"}}
		if !condHolds(t, "StringLike", "aws:SourceArn", `"arn:aws:someservice:*:111122223333:finance/*"`, ctx) {
			t.Errorf("StringLike should match across colons")
		}
	})
}

func TestBinaryCondition(t *testing.T) {
	runCondCases(t, "aws:Binary", []condCase{
		{"equal bytes", "BinaryEquals", `"QmluYXJ5VmFsdWVJbkJhc2U2NA=="`, []string{"BinaryValueInBase64"}, true},
		{"other bytes", "BinaryEquals", `"QmluYXJ5VmFsdWVJbkJhc2U2NA=="`, []string{"x"}, false},
		{"invalid base64", "BinaryEquals", `"!!"`, []string{"!!"}, false},
	})
}

// Set operators over multivalued keys, with the tables of the IAM
// documentation (ForAllValues:StringNotLike with aws:TagKeys, and others).
func TestSetOperators(t *testing.T) {
	runCondCases(t, "aws:TagKeys", []condCase{
		{"ForAnyValue one matches", "ForAnyValue:StringEquals", `["ID","PostDateTime"]`, []string{"UserName", "Message", "PostDateTime"}, true},
		{"ForAnyValue none matches", "ForAnyValue:StringEquals", `["ID","PostDateTime"]`, []string{"UserName"}, false},
		{"ForAnyValue absent", "ForAnyValue:StringEquals", `"ID"`, nil, false},
		{"ForAnyValue empty set", "ForAnyValue:StringEquals", `"ID"`, []string{}, false},
		{"ForAllValues all listed", "ForAllValues:StringLike", `["PostDateTime","Message","Tags"]`, []string{"PostDateTime", "Message"}, true},
		{"ForAllValues one not listed", "ForAllValues:StringLike", `["PostDateTime","Message","Tags"]`, []string{"PostDateTime", "UserName"}, false},
		{"ForAllValues absent", "ForAllValues:StringLike", `"a"`, nil, true},
		{"ForAllValues empty set", "ForAllValues:StringLike", `"a"`, []string{}, true},
		{"ForAllValues StringNotLike key1 prefix", "ForAllValues:StringNotLike", `"key1*"`, []string{"key1:legal"}, false},
		{"ForAllValues StringNotLike two key1", "ForAllValues:StringNotLike", `"key1*"`, []string{"key1:hr", "key1:personnel"}, false},
		{"ForAllValues StringNotLike key2", "ForAllValues:StringNotLike", `"key1*"`, []string{"key2:audit"}, true},
		{"ForAllValues StringNotLike absent", "ForAllValues:StringNotLike", `"key1*"`, nil, true},
		{"ForAllValues StringNotEquals mixed", "ForAllValues:StringNotEquals", `["DataClass","Owner"]`, []string{"Dept", "DataClass"}, false},
		{"ForAllValues StringNotEquals none listed", "ForAllValues:StringNotEquals", `["DataClass","Owner"]`, []string{"Dept", "SIC"}, true},
		{"ForAnyValue StringNotEquals one unlisted", "ForAnyValue:StringNotEquals", `["DataClass","Owner"]`, []string{"Dept", "DataClass"}, true},
		{"ForAnyValue StringNotEquals all listed", "ForAnyValue:StringNotEquals", `["DataClass","Owner"]`, []string{"DataClass", "Owner"}, false},
		{"ForAnyValue StringNotEquals absent", "ForAnyValue:StringNotEquals", `["DataClass","Owner"]`, nil, false},
		{"ForAllValues NotIpAddress", "ForAllValues:NotIpAddress", `"10.0.0.0/8"`, []string{"192.0.2.1", "198.51.100.1"}, true},
		{"ForAnyValue IpAddress", "ForAnyValue:IpAddress", `"10.0.0.0/8"`, []string{"192.0.2.1", "10.1.1.1"}, true},
		{"without set operator any value matches", "StringEquals", `"b"`, []string{"a", "b"}, true},
		{"without set operator, negated, one matches", "StringNotEquals", `"b"`, []string{"a", "b"}, false},
		{"prefix case", "forallvalues:stringequals", `["a","b"]`, []string{"a"}, true},
	})
}

func TestConditionBlocksAreANDed(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
	    "StringEquals":{"aws:SourceVpce":"vpce-1","aws:username":["alice","bob"]},
	    "IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`
	d := mustParse(t, doc, ParseOptions{})
	tests := []struct {
		name string
		ctx  map[string][]string
		want Effect
	}{
		{"all hold", map[string][]string{"aws:SourceVpce": {"vpce-1"}, "aws:username": {"bob"}, "aws:SourceIp": {"10.2.3.4"}}, Allow},
		{"second key fails", map[string][]string{"aws:SourceVpce": {"vpce-1"}, "aws:username": {"carol"}, "aws:SourceIp": {"10.2.3.4"}}, NotApplicable},
		{"second operator fails", map[string][]string{"aws:SourceVpce": {"vpce-1"}, "aws:username": {"bob"}, "aws:SourceIp": {"192.0.2.1"}}, NotApplicable},
		{"one key absent", map[string][]string{"aws:username": {"bob"}, "aws:SourceIp": {"10.2.3.4"}}, NotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Evaluate(invoke(apiARN+"/p/GET/x", tt.ctx)); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

// A Deny with a negated operator still applies when the key is missing, as
// the IfExists documentation warns.
func TestDenyWithNegatedOperatorOnMissingKey(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":[
	    {"Effect":"Allow","Action":"*","Resource":"*"},
	    {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"ops"}}}]}`, ParseOptions{})
	for _, tt := range []struct {
		name string
		ctx  map[string][]string
		want Effect
	}{
		{"tag missing", nil, Deny},
		{"other team", map[string][]string{"aws:PrincipalTag/team": {"dev"}}, Deny},
		{"ops", map[string][]string{"aws:PrincipalTag/team": {"ops"}}, Allow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Evaluate(invoke(apiARN+"/p/GET/x", tt.ctx)); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseInstant(t *testing.T) {
	tests := []struct {
		in   string
		sec  int64
		nsec int32
		ok   bool
	}{
		{"1970-01-01T00:00:00Z", 0, 0, true},
		{"2025-01-01T00:00:00Z", 1735689600, 0, true},
		{"2025-01-01T01:00:00+01:00", 1735689600, 0, true},
		{"2024-12-31T19:00:00-05:00", 1735689600, 0, true},
		{"2025-01-01", 1735689600, 0, true},
		{"2025", 1735689600, 0, true},
		{"2025-01", 1735689600, 0, true},
		{"2025-01-01T00:00:00.123456789123Z", 1735689600, 123456789, true},
		{"1735689600", 1735689600, 0, true},
		{"1735689600.5", 1735689600, 500000000, true},
		{"2025-13-01", 0, 0, false},
		{"2025-01-01T24:00:00Z", 0, 0, false},
		{"2025-01-01T00:00:00+25:00", 0, 0, false},
		{"2025-01-01 00:00:00", 0, 0, false},
		{"", 0, 0, false},
		{"1735689600.", 0, 0, false},
		{"99999999999999999999", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseInstant(tt.in)
			if ok != tt.ok || ok && (got.sec != tt.sec || got.nsec != tt.nsec) {
				t.Errorf("parseInstant(%q) = %+v, %v; want %d.%09d, %v", tt.in, got, ok, tt.sec, tt.nsec, tt.ok)
			}
		})
	}
}
