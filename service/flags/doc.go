// Package flags holds the feature toggles and A/B experiments of perf serve:
// it reads a flag-definition file in flagd's JSON format (the OpenFeature
// ecosystem's), so a team's existing flag file works, and answers which
// variant of a flag a user gets.
//
// perf serve --flags FILE reads its file with this package (package service
// gives the variants' values their meaning for a read, and watches the
// file).
//
// It knows nothing of HTTP, of the server or of where a user id comes from:
// the caller passes the flag key and the user id, and gets a Result; a
// server that evaluates every flag for every request looks each Flag up
// once and calls Pick, which takes the user id as bytes too. It never logs
// and never reloads by itself; to change the flags, Load or Parse the new
// file and swap the *Config pointer (a Config is immutable, so it is safe
// for concurrent use). Hash names the configuration in force.
//
// # Supported subset of flagd
//
//	{
//	  "$schema": "https://flagd.dev/schema/v0/flags.json",
//	  "flags": {
//	    "compact-doc": {
//	      "state": "ENABLED",
//	      "variants": { "full": false, "compact": true },
//	      "defaultVariant": "full",
//	      "targeting": { "fractional": [ ["full", 50], ["compact", 50] ] }
//	    },
//	    "new-path": { "state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off" }
//	  }
//	}
//
// The top level may hold "$schema" (not checked), "flags" and an empty
// "$evaluators"; any other key is refused. Each flag has:
//
//   - "state": "ENABLED" or "DISABLED". A disabled flag gives its default
//     variant, reason "disabled".
//   - "variants": a non-empty object of variant name to any JSON value.
//     Result.Value is that value as encoding/json decodes it into an any.
//   - "defaultVariant": the name of one of the variants.
//   - "targeting": absent, null or {} (everyone gets the default, reason
//     "static"), or exactly {"fractional": [...]} (reason "split"). The
//     buckets are [variant, weight] pairs, each variant existing and listed
//     once, the weights whole numbers from 0 to 100 summing to exactly 100.
//     The first element may be flagd's bucketing-key expression only if it
//     is the default one, {"cat": [{"var": "$flagd.flagKey"}, {"var":
//     "targetingKey"}]}.
//   - "metadata": accepted and ignored.
//
// Everything else is refused with an error naming the file, the flag and the
// construct, for example
//
//	flags.json: flag "compact-doc": targeting uses "if", which perf serve does not support (supported: fractional)
//
// That covers the other JSON Logic operators ("if", "in", "==", "sem_ver",
// "starts_with", "ends_with", ...), "$ref" and a non-empty "$evaluators",
// other bucketing keys, and fractional's relative weights or bare
// ["variant"] buckets, which flagd accepts. Refusing is on purpose: a flag
// that silently evaluated differently here than in flagd would mislead an
// experiment. Unparsable JSON is refused with its line and column.
//
// # Buckets
//
// A user's bucket is flagd's: h = MurmurHash3_x86_32(flagKey+userID, seed
// 0), and the user gets the first bucket whose cumulative weight w satisfies
// h*100 < w*2^32. The comparison is in uint64 with thresholds computed at
// Parse, so Evaluate is a map lookup, a hash over the two strings (streamed,
// never concatenated) and a few compares, and does not allocate. Because the
// bucket depends only on the flag key and the user id, a user gets the same
// variant in every process and after every reload that keeps the weights;
// raising the weight of the first bucket moves no user out of it; and since
// the flag key is hashed too, two flags split the same users independently.
// A request with no user id gets the default variant, reason "no user id".
//
// flagd computes the same position in floating point; the two can differ
// only for a user whose position lies within a rounding error of a bucket
// edge.
package flags
