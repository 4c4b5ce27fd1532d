package control

import "crypto/rand"

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns n random lowercase alphanumerics, the shape of AWS's REST
// API, resource and deployment ids.
func newID(n int) string { return randomString(n, idAlphabet) }

// randomString draws n characters uniformly from alphabet (at most 256).
func randomString(n int, alphabet string) string {
	// Reject bytes past the largest multiple of len(alphabet) to stay uniform.
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, c := range buf {
			if int(c) < limit && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
