package model

// KindStageCacheFlush records the flushes of a stage's cache
// (FlushStageCache): every node's data plane sees the record change and
// drops the stage's entries. Key: apiID/stageName.
const KindStageCacheFlush = "stagecacheflush"

// StageCacheFlush counts a stage's cache flushes; an entry stored under an
// older generation is never served again.
type StageCacheFlush struct {
	Generation int64 `json:"generation"`
	FlushedAt  int64 `json:"flushedAt"`
}
