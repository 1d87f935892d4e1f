// Identity event calls signed exactly as GoTrue signs them, with jsonwebtoken (not jwtgate).
//
//   in:  {secret, instance_id, now, cases: [{name, event, user, ...variation}]}
//   out: [{name, body (base64), signature (or null)}]
//
// GoTrue (netlify/gotrue, api/hooks.go, triggerHook) marshals
// {event, instance_id, user} with Go's encoding/json, takes the hex SHA-256 of
// those exact bytes and signs {iss: "gotrue", sub: <instance id>, iat: <now>,
// sha256: <hex>} with HS256 (golang-jwt: header {"alg":"HS256","typ":"JWT"},
// registered claims in the order iss, sub, aud, exp, nbf, iat, jti, then
// sha256) and the site's JWT secret or the webhook secret. Go's encoder
// escapes <, >, & and U+2028/2029, which JSON.stringify does not; the body is
// made the same here so that its hash is the one GoTrue would compute.
//
// Variations, one at a time: secret (another secret), iat (another time),
// iss, sub, alg (HS512, RS256 or none), no_sha (no sha256 claim), tamper (the
// body changed after signing), raw_body (a body that is not an event),
// no_signature.

import { createHash, generateKeyPairSync } from 'node:crypto'

import jwt from 'jsonwebtoken'

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const goJSON = (value) =>
  JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')

const b64url = (data) => Buffer.from(data).toString('base64url')

const sign = (claims, secret, alg) => {
  if (alg === 'none') {
    return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`
  }
  if (alg === 'RS256') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    return jwt.sign(claims, privateKey, { algorithm: 'RS256' })
  }
  // (jsonwebtoken keeps the iat it is given, in its place; noTimestamp would drop it)
  return jwt.sign(claims, secret, { algorithm: alg ?? 'HS256' })
}

const main = async () => {
  const input = await readStdin()
  const out = input.cases.map((c) => {
    const payload = { event: c.event, instance_id: input.instance_id, user: c.user }
    let body = c.raw_body ?? goJSON(payload)
    const claims = {
      iss: c.iss ?? 'gotrue',
      sub: c.sub ?? input.instance_id,
      iat: c.iat ?? input.now,
    }
    if (!c.no_sha) claims.sha256 = createHash('sha256').update(body, 'utf8').digest('hex')
    const signature = c.no_signature ? null : sign(claims, c.secret ?? input.secret, c.alg)
    if (c.tamper) body = body.replace(c.tamper[0], c.tamper[1])
    return { name: c.name, body: Buffer.from(body, 'utf8').toString('base64'), signature }
  })
  process.stdout.write(JSON.stringify(out))
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
