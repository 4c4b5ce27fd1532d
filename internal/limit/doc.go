// Package limit meters requests: token-bucket throttles and period quotas,
// keyed by strings the caller builds once per (usage plan, API key, ...) and
// reuses.
//
// The pipeline sees two small interfaces, [Throttler] and [Quotas] (together
// [Limiter]). [Memory] implements both for one node; a Redis backend (shared
// limits across nodes, atomic Lua scripts) can replace it without touching
// callers, because every call carries its own limits and its own clock
// (rate, burst, [QuotaSpec], now): a backend keeps counters, not
// configuration.
//
// # Throttles
//
// A throttle is a token bucket of capacity burst refilled at rate tokens per
// second, as API Gateway documents for usage plans, stages and methods. It is
// implemented as GCRA (the generic cell rate algorithm, the form used by
// go-redis/redis_rate): per id one int64, the theoretical arrival time TAT, in
// Unix nanoseconds. With emission interval I = ceil(1e9/rate) ns and tolerance
// tau = burst*I, a request at time t is admitted iff max(TAT, t) + I - t <= tau,
// and then TAT becomes max(TAT, t) + I. This is exactly a token bucket holding
// (tau - (TAT - t)) / I tokens; it is updated with one compare-and-swap, so
// concurrent callers never over-admit: over any run of D seconds at most
// burst + rate*D requests are admitted (I is rounded up, never down).
// A refused call gets RetryAfter, the wait until the request would conform.
//
// rate <= 0 (or NaN) or burst < 1 refuses every request: a bucket that can
// hold no token, or that is never refilled, admits nothing. This matches AWS,
// where a method throttle of rateLimit 0 and burstLimit 0 disables the method
// (the console behaviour relied on in aws/aws-cdk#10071); both fields have a
// documented minimum of 0 (AWS::ApiGateway::UsagePlan ThrottleSettings).
// "No throttle configured" is not a zero limit: callers simply do not call
// Allow.
//
// # Quotas
//
// A quota admits at most Limit requests per period. Periods are calendar
// periods in UTC: DAY, WEEK or MONTH, starting at 00:00:00 UTC of the day
// selected by Offset:
//
//   - DAY: every UTC day; Offset must be 0.
//   - WEEK: 7 days starting on weekday Offset, 0 = Sunday, 1 = Monday, ...,
//     6 = Saturday (time.Weekday numbering).
//   - MONTH: starts on day Offset+1 of each month, 0 <= Offset <= 27 (so that
//     every month, February included, has the start day); Offset 0 resets at
//     the beginning of the month.
//
// Sources, and a caveat. The AWS SDK references of 2022 (aws-sdk-apigateway
// for Ruby 1.73.0, aws-sdk-apigateway for Rust 0.4.0, the Swift and Dart SDKs)
// describe QuotaSettings.offset as "The day that a time period starts. For
// example, with a time period of WEEK, an offset of 0 starts on Sunday, and an
// offset of 1 starts on Monday."; the AWS CLI example for create-usage-plan
// ("limit=500,offset=0,period=MONTH") is titled "a usage plan ... that resets
// at the beginning of the month". The current API reference
// (https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html,
// and the botocore model) and CloudFormation instead say "The number of
// requests subtracted from the given limit in the initial time period". apigw
// follows the day-of-period meaning above, which is the one that gives WEEK and
// MONTH a well-defined start; [QuotaSpec.Validate] enforces the ranges. That a DAY
// is a UTC calendar day, not a rolling 24 hours, is the accepted community
// answer to "When does the day window take effect for API Gateway usage
// plans?" (Stack Overflow 54136076: "It is one day UTC").
//
// Usage is accounted per id and UTC day ("2006-01-02"), which is what GetUsage
// reports: for each day, [used, remaining], where remaining is what is left of
// the quota period containing that day at the end of that day. UpdateUsage
// (PATCH /usageplans/{id}/keys/{keyId}/usage, replace /remaining) maps to
// [Quotas.SetRemaining]: it sets the remaining quota of the current period to
// a value (granting more, or less, or resetting to full). It does not rewrite
// history: the difference is recorded as an adjustment on the current day,
// so "used" stays the number of requests admitted, as in AWS's own example
// where the remaining quota drops from 5000 to 10 while used stays 0.
//
// # Durability
//
// [Memory] persists quota usage through a [Ledger] (apigw implements it on its
// store; [MemLedger] is an in-memory one for tests) with reservations. Before
// it admits a request of id on day d, Memory has durably added to the Ledger's
// count for (id, d) a chunk of units (64 by default, doubling up to 4096 for
// an id that uses each chunk within 100 ms, see [DefaultMaxChunk] and
// [WithChunk]; never more than what is left of the quota); it then admits requests from
// that chunk locally, without I/O. The Ledger's count is therefore always at
// least the number of requests admitted, and exceeds it by at most the
// unused part of one chunk per id, because Memory holds at most one chunk per
// id at a time (an unused chunk is given back before a new day's chunk is
// taken, and when the quota is changed). [Memory.Close] gives back every
// unused chunk, leaving the Ledger equal to the requests admitted. So a clean
// stop loses nothing and over-counts nothing; a crash (kill -9, power loss)
// never under-counts, so no admitted request is lost and no quota is reset, and
// over-counts by at most one chunk per id that was in use (64 units, or about
// a tenth of a second of a busy id's requests, at most 4096),
// charged to the day of that chunk. Exactness does not suffer from chunking:
// a chunk never exceeds the remaining quota, so with a quota of N exactly N
// requests are admitted, and once a quota is exhausted the Ledger holds exactly
// N even without Close. SetRemaining writes through to the Ledger before it
// returns.
//
// Memory assumes it is the only writer of its ids in the Ledger (one node).
// Nodes that share limits use the Redis backend.
//
// # Shared limits
//
// [Redis] keeps the counters of several nodes in one Redis, with Lua
// scripts so that each update is atomic, and leases so that most calls do
// no I/O:
//
//   - A throttle is the same GCRA, in microseconds (Lua numbers are
//     doubles), in key {prefix}t:{id}. A node takes a lease of tokens from
//     it and admits from the lease for [ThrottleLeaseTTL]; a lease starts at
//     one token, doubles while used up quickly, and never exceeds
//     burst/[ThrottleLeaseShare] nor rate·ThrottleLeaseTTL. Unused tokens go
//     back to the bucket when the lease expires. Over a run of t seconds the
//     nodes admit at most B + R·(t + ThrottleLeaseTTL) and at least that
//     less the tokens of the last leases.
//   - A quota is a hash {prefix}q:{id}: per day the units leased (admitted,
//     or held by a node), the adjustments, and an init mark. A node leases
//     chunks as Memory does (64 to 4096 units), but never more than what is
//     free divided by [QuotaLeaseShare], so leases shrink near the limit;
//     the script never grants more than is free, so a quota of N admits
//     exactly N across the nodes. A lease is added to the Ledger before a
//     unit of it is admitted (write-through), and a lease nobody took from
//     for [QuotaLeaseIdle] goes back. A hash Redis lost (a restart without
//     persistence, an expiry) or that may be stale (Redis restarted, or was
//     unreachable) is rebuilt from the Ledger, each day's count the larger of
//     the two. SetRemaining revokes the other nodes' leases (pub/sub), whose
//     unused units become an adjustment.
//   - A kill -9 over-admits nothing; it charges the node's unused leases:
//     per quota id at most one chunk (at most 4096 units, and at most 1/16
//     of what was left), and per throttle at most one lease, for
//     ThrottleLeaseTTL.
//   - When Redis cannot be reached, each node meters alone with its share:
//     1/n of each throttle's rate and burst, and 1/n of what the Ledger says
//     is left of each quota when the outage reaches it, n being the number of
//     nodes that registered in Redis in the last 10 s before it (the
//     Ledger keeps the last count, for a node that starts in an outage:
//     it counts itself on top). The
//     background loop pings Redis every [DefaultRedisTick] and returns to the
//     shared counters when it answers. What a node reserved in the Ledger
//     and did not admit (its lease when Redis went away, the rest of its
//     share) stays its lease once it rebuilt Redis from the Ledger, so an
//     outage loses no unit. With RedisConfig.FailClosed, every
//     call fails with [ErrUnavailable] instead.
//
// The Ledger must be shared by the nodes (a shared store) for Usage to be
// the cluster's even without Redis and for a rebuild to find every node's
// leases; with one Ledger per node, Redis holds the cluster's count while it
// keeps its data.
package limit
