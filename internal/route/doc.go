// Package route is the compiled routing tree of one REST API (v1)
// deployment. A [Builder] collects (resource path, HTTP method, value)
// triples, [Builder.Compile] freezes them into an immutable [Tree], and
// [Tree.Match] resolves a request on the data-plane hot path without
// allocating for literal routes and for parameters that carry no
// percent-escapes. The package is generic over the stored value so that it
// does not depend on the model.
//
// # AWS semantics implemented
//
// The rules below were established from AWS documentation, from public
// reports of behaviour measured against real API Gateway, and from how the
// LocalStack, moto, floci and ministack emulators were corrected against
// it. Where a rule is inferred rather than measured, it says so.
//
// Resource tree shape (control-plane rules, enforced by [Builder.Add]):
//
//   - A path part is either a literal of [a-zA-Z0-9._:-] or a variable
//     "{name}" / greedy variable "{name+}" whose name uses the same
//     characters. AWS CreateResource rejects anything else with "Resource's
//     path part only allow a-zA-Z0-9._- and curly braces at the beginning and
//     the end and an optional plus sign before the closing brace" (moto's
//     apigateway tests; valid names there include "us:er_0-9" and
//     "{pro:xy+}", invalid ones "us{er" and "us+er"). So empty segments,
//     stray braces and non-ASCII literals are rejected.
//   - A greedy variable must be the last path part ("The greedy path variable
//     must be at the end of the resource path", AWS developer guide, "Set up a
//     proxy integration with a proxy resource"); AWS refuses to create a child
//     of a greedy resource (LocalStack create_resource: "Cannot create a child
//     of a resource with a greedy path variable").
//   - A resource has at most one variable child: AWS refuses a second one,
//     whether it differs by name ({id} next to {name}) or by greediness ({foo}
//     next to {proxy+}), with "A sibling ({id}) of this resource already has a
//     variable path part -- only one is allowed" (Jets and Serverless
//     deployment reports; LocalStack reproduces the check). Consequently, at
//     one level the only choice is literal child versus the variable child;
//     "{param} versus {proxy+} at the same level" cannot occur.
//   - Methods are GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS and ANY
//     (the set AWS PutMethod accepts), upper case.
//
// Request matching ([Tree.Match]):
//
//   - Precedence: at each level a literal child is tried before the variable
//     child. AWS: "a method request against the specific resource takes
//     precedence over the generic resource" when both exist at the same level
//     (developer guide, method request / proxy resource section); LocalStack
//     issue 5226 and 3524 confirm a literal sibling beats {proxy+} and
//     {param} on real AWS.
//   - Routing is on the (resource, method) pair, not on the resource alone:
//     the request goes to the most specific resource that matches the path
//     AND has the request method or ANY; a resource that matches the path
//     but lacks the method is skipped and matching backtracks. Measured on
//     real API Gateway (floci PR 3399, us-west-2; ministack PR 1423,
//     eu-central-1; floci issue 1547): with /users/me {PATCH} and
//     /users/{userId} {GET}, GET /users/me is served by /users/{userId};
//     with /things/real {GET} and /things/{proxy+} {ANY}, POST /things/real
//     is served by the proxy; a method-less or OPTIONS-only intermediate
//     resource falls through to /{proxy+}. Only when no matching resource has
//     the method does AWS answer 403 Missing Authentication Token.
//     The matcher is therefore a depth-first search in precedence order
//     (literal subtree, then variable subtree) that backtracks on dead ends
//     and on method mismatch. Backtracking from a literal that matches a
//     segment but dead-ends deeper (/a/b/c vs /a/{x}/d for /a/b/d) is the
//     same rule applied to a deeper mismatch; it is inferred from the above,
//     not separately measured. Because every tree node is reached through one
//     parent chain, the search visits each node at most once.
//   - Within one resource an exact method beats ANY.
//   - HEAD is not mapped to GET: a HEAD request needs a HEAD or ANY method.
//     LocalStack's AWS-validated router explicitly undoes Werkzeug's implicit
//     HEAD-for-GET and lists ANY as DELETE, GET, HEAD, OPTIONS, PATCH, POST,
//     PUT. A request method outside those seven is not covered by ANY.
//   - {proxy+} matches one or more segments and never the root: /{proxy+}
//     does not match "/" (serverless-wsgi issue 20, aws-sam-cli issue 437,
//     AWS knowledge center "Missing Authentication Token": the root resource
//     needs its own method). The greedy value is the rest of the path without
//     the leading slash, percent-decoded.
//   - Trailing slashes are ignored for matching: /items/ is routed like
//     /items (aws-sam-cli PR 1495, an AWS engineer matching local behaviour
//     to the service; LocalStack strips trailing slashes before routing). The
//     greedy value does not include the trailing slash (serverless-express
//     issue 391: pathParameters.proxy lacks it while event.path keeps it).
//   - Extra slashes right after the stage are ignored (LocalStack issue
//     11253: /prod//orders works on AWS). An empty segment inside the path
//     matches neither a literal nor a {param}; a greedy variable absorbs it
//     verbatim (LocalStack's greedy converter keeps "//"). Not measured on
//     AWS.
//   - The path is matched still percent-encoded, split on "/" only: %2F
//     inside a segment does not split it (REST APIs hand the backend the path
//     still encoded, see middleapi/standard-server PR 93). Path parameter
//     values are percent-decoded ("user%40example.com" arrives as
//     "user@example.com", serverless-offline issue 271), "+" is kept as "+"
//     (serverless-offline issue 638), a malformed escape is kept verbatim.
//     A literal is compared with the decoded segment (RFC 3986 6.2.2.2
//     normalisation; not measured on AWS).
//   - Paths are case sensitive (literal comparison is byte-exact).
//
// [MatchStatus] keeps "no resource" and "method not allowed" apart for logs,
// although AWS answers both with 403 Missing Authentication Token.
package route
