package cache

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"
)

// encodingVersion starts every encoded entry.
const encodingVersion = 1

// Encode writes e as bytes for Redis: the version, the status, the TTL in
// milliseconds, the header fields (count, then name and value pairs, each
// with its length) and the body.
func Encode(e *Entry) []byte {
	n := 1 + 2 + 8 + 4 + len(e.Body)
	for k, vs := range e.Header {
		n += len(vs) * (8 + len(k))
		for _, v := range vs {
			n += len(v)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, encodingVersion)
	b = binary.BigEndian.AppendUint16(b, uint16(e.Status))
	b = binary.BigEndian.AppendUint64(b, uint64(e.TTL.Milliseconds()))
	var fields uint32
	for _, vs := range e.Header {
		fields += uint32(len(vs))
	}
	b = binary.BigEndian.AppendUint32(b, fields)
	for k, vs := range e.Header {
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
			b = append(b, k...)
			b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
	}
	return append(b, e.Body...)
}

var errBadEntry = errors.New("cache: malformed entry")

// maxFields bounds the header fields of a decoded entry.
const maxFields = 1000

// Decode reads an entry Encode wrote. Bytes that are not one, or whose
// body is over MaxEntryBytes, are refused.
func Decode(b []byte) (*Entry, error) {
	if len(b) < 15 || b[0] != encodingVersion {
		return nil, errBadEntry
	}
	e := &Entry{Status: int(binary.BigEndian.Uint16(b[1:])), TTL: time.Duration(binary.BigEndian.Uint64(b[3:])%(1<<40)) * time.Millisecond}
	if e.Status < 100 || e.Status > 999 {
		return nil, errBadEntry
	}
	fields := binary.BigEndian.Uint32(b[11:])
	if fields > maxFields {
		return nil, errBadEntry
	}
	b = b[15:]
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(n) > uint64(len(b)-4) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	if fields > 0 {
		e.Header = make(http.Header, fields)
	}
	for range fields {
		k, ok := str()
		if !ok {
			return nil, errBadEntry
		}
		v, ok := str()
		if !ok {
			return nil, errBadEntry
		}
		e.Header[k] = append(e.Header[k], v)
	}
	if len(b) > MaxEntryBytes {
		return nil, errBadEntry
	}
	e.Body = string(b)
	return e, nil
}
