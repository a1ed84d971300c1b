// Package issuer is a fake CI OIDC issuer for testing PyPI Trusted
// Publishing offline: GitHub Actions' ID-token endpoint with its discovery
// document and JWKS, and the other issuers PyPI trusts (GitLab, Google,
// ActiveState) plus Buildkite and CircleCI, whose tokens clients obtain
// through CLIs.
//
// Tokens look like the real ones: RS256 with RSA-2048 keys, kid and x5t
// headers, GitHub's whole claim set with every custom value a JSON string,
// exp = iat + 300, a fresh UUID jti, and by default the real issuer
// strings (GitHubIssuer...). An index under test maps those issuers to this
// server's discovery URLs (Server.Issuers), which serve this server's keys.
//
// Wire format, in brief (docs/fakeissuer.md has it all):
//
//	GET  /github/idtoken?api-version=2.0&audience=A   ACTIONS_ID_TOKEN_REQUEST_URL; Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>
//	GET  /.well-known/openid-configuration            GitHub's discovery (also /github/...)
//	GET  /.well-known/jwks                             the keys
//	GET  /<kind>/.well-known/openid-configuration     each kind's discovery: gitlab, google, activestate, buildkite, circleci
//	GET  /computeMetadata/v1/instance/service-accounts/default/identity?audience=A   Google metadata server
//	     /_fake/...                                    JSON control plane: context, faults, keys, tokens, token, env, issuers
//
// Use Start (or NewTestServer in tests) for a listening server, or New for
// an http.Handler to mount elsewhere. Tokens can also be minted in Go
// (Server.Token, Server.TokenFor), and a job's environment rendered
// (Server.Env). Named faults (ParseFault) make one token wrong in one way:
// expired, wrong audience, alg none, missing claim... They apply to every
// token (Config.Faults, SetFaults), to the next one (QueueFaults), or to
// one request (the fault query parameter).
package issuer
