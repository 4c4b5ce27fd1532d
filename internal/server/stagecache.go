package server

import (
	"github.com/redis/go-redis/v9"

	"github.com/apigw/apigw/internal/cache"
	"github.com/apigw/apigw/internal/gateway"
	"github.com/apigw/apigw/internal/limit"
)

// stageCache configures the data plane's stage caches: their memory cap,
// and with --redis the Redis all nodes share them in (with the limiter's
// connection options and key prefix).
func (s *Server) stageCache(cfg Config) error {
	if cfg.StageCacheMaxBytes < 0 {
		return errNegativeCacheBytes
	}
	s.Gateway.StageCache = gateway.StageCacheOptions{MaxBytes: cfg.StageCacheMaxBytes}
	if cfg.Redis == "" {
		return nil
	}
	opts, err := limit.RedisOptions(cfg.Redis)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	s.cacheRedis = rdb
	s.Gateway.StageCache.Redis = cache.NewRedis(rdb, cfg.RedisPrefix, cfg.Log)
	return nil
}

type configError string

func (e configError) Error() string { return string(e) }

const errNegativeCacheBytes = configError("--stage-cache-max-bytes must not be negative")
