package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// testRedis returns APIGW_TEST_REDIS, a key prefix of the test's own and a
// client on that Redis; the keys under the prefix are deleted when the test
// ends. It skips the test, naming what, when the variable is unset.
func testRedis(t *testing.T, what string) (url, prefix string, rdb *redis.Client) {
	t.Helper()
	url = os.Getenv("APIGW_TEST_REDIS")
	if url == "" {
		t.Skip("APIGW_TEST_REDIS is not set (e.g. redis://127.0.0.1:6379/0): skipping " + what)
	}
	var b [4]byte
	rand.Read(b[:])
	prefix = "apigwtest:" + t.Name() + ":" + hex.EncodeToString(b[:]) + ":"
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb = redis.NewClient(opts)
	t.Cleanup(func() {
		ctx := context.Background()
		for k := range rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator().Vals(ctx) {
			rdb.Del(ctx, k)
		}
		rdb.Close()
	})
	return url, prefix, rdb
}
