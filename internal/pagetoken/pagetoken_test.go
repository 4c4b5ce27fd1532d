package pagetoken

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, key := range []string{"", "a", "abc123defg", "fn/00000000000000000003", "é/ü\x00"} {
		got, ok := Decode(Encode(key))
		if !ok || got != key {
			t.Errorf("Decode(Encode(%q)) = %q, %v", key, got, ok)
		}
	}
}

func TestRefused(t *testing.T) {
	good := Encode("abc123defg")
	for _, tok := range []string{
		"garbage", "", "abc123defg", "AAAA", "!!!!", "YWJj", // base64 of "abc": no checksum
		good[:len(good)-1], good + "A", "x" + good[1:],
	} {
		if k, ok := Decode(tok); ok {
			t.Errorf("Decode(%q) = %q, accepted", tok, k)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("garbage")
	f.Add(Encode("k"))
	f.Fuzz(func(t *testing.T, tok string) {
		if k, ok := Decode(tok); ok && Encode(k) != tok {
			t.Fatalf("Decode(%q) = %q, but Encode gives %q", tok, k, Encode(k))
		}
	})
}
