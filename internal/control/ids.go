package control

import "crypto/rand"

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID returns n random lowercase alphanumerics, the shape of AWS's REST
// API, resource and deployment ids.
func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		// 252 = 7*36: reject bytes past it to keep the draw uniform.
		for b[i] >= 252 {
			var one [1]byte
			rand.Read(one[:])
			b[i] = one[0]
		}
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
