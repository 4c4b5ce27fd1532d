// Package pagetoken makes the opaque tokens list operations hand out to
// fetch the next page (apigateway's position, Lambda's and IAM's Marker),
// and tells a token it made from one it did not.
package pagetoken

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
)

// Encode returns the token that stands for key (a list's sort key).
func Encode(key string) string {
	b := binary.BigEndian.AppendUint32([]byte(key), crc32.ChecksumIEEE([]byte(key)))
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the key of a token Encode made; ok is false for any other
// string, so that a made-up or damaged token is refused rather than read
// as a position in the list.
func Decode(token string) (key string, ok bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) < 4 {
		return "", false
	}
	k, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(k) != sum {
		return "", false
	}
	return string(k), true
}
