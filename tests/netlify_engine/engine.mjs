// Netlify's own redirect stack on a corpus, for jwtgate's comparison tests.
//
// One process per corpus: a JSON document on stdin, one on stdout.
//
//   in:  {secret, role_claim, files: [{name, redirects, toml, cases: [{path, query, token}]}]}
//        token: null | {roles, expires_in, forged} | {raw}
//   out: {files: [{name, errors, rules, cases: [{cookie, rule, force404, status, to, target}]}]}
//
// Each file goes through @netlify/redirect-parser (what `netlify dev` and the
// build use), is reshaped for the engine as the Netlify CLI does before it calls
// it (src/utils/redirects.ts: `from` becomes `origin`, `query` `params`, the
// condition names capitalised), and is compiled by netlify-redirector, the
// engine the CLI runs with `jwtSecret` and `jwtRoleClaim`. Every request's
// nf_jwt cookie is signed here with jsonwebtoken, independently of jwtgate.
// The final target of a match is computed as the CLI does when it serves it
// (src/utils/proxy.ts): the `to` URL resolved against the site, the request's
// query parameters appended when `to` has none of its own.
//
// Which rule matched: each rule is compiled with a private header naming its
// position, which the engine hands back in the match's `proxyHeaders`; the same
// rules are also compiled without it and every decision is required to agree,
// so the marker cannot change what is decided.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { parseAllRedirects } from '@netlify/redirect-parser'
import jwt from 'jsonwebtoken'
import redirector from 'netlify-redirector'

const MARKER = 'x-jwtgate-rule'
const SITE = 'http://site.test'

const readStdin = async () => {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

// The engine's shape, as the Netlify CLI builds it from the parser's output.
const forEngine = ({ conditions: { country, language, role, ...conditions }, from, query, signed, ...rule }) => ({
  ...rule,
  origin: from,
  params: query,
  conditions: {
    ...conditions,
    ...(role && { Role: role }),
    ...(country && { Country: country }),
    ...(language && { Language: language }),
  },
  ...(signed && { sign: { jwt_secret: signed } }),
})

const cookieFor = (token, secret, cache) => {
  if (token === null) return ''
  if (token.raw !== undefined) return token.raw
  const key = JSON.stringify(token)
  if (!cache.has(key)) {
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      sub: 'user-1',
      email: 'user@example.com',
      exp: now + token.expires_in,
      app_metadata: { provider: 'email', authorization: { roles: token.roles } },
    }
    cache.set(key, jwt.sign(claims, token.forged ? `${secret}-forged` : secret, { algorithm: 'HS256', noTimestamp: true }))
  }
  return cache.get(key)
}

const decoded = (text) => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

// Where the CLI sends the request for a match (proxy.ts, serveRedirect).
const targetOf = (to, query) => {
  const dest = new URL(to, SITE)
  if ([...dest.searchParams].length === 0) {
    for (const [key, value] of new URLSearchParams(query)) dest.searchParams.append(key, value)
  }
  return {
    absolute: /^https?:\/\//.test(to),
    origin: dest.origin,
    path: decoded(dest.pathname),
    query: [...dest.searchParams],
    href: dest.href,
  }
}

const request = (path, query, cookie) => ({
  scheme: 'http',
  host: 'site.test',
  path,
  query,
  getHeader: () => '',
  getCookie: (name) => (name === 'nf_jwt' ? cookie : ''),
})

const runFile = async (file, options, dir, tokens) => {
  const redirectsFiles = []
  if (file.redirects !== null && file.redirects !== undefined) {
    const path = join(dir, `${file.name}._redirects`)
    writeFileSync(path, file.redirects)
    redirectsFiles.push(path)
  }
  let netlifyConfigPath
  if (file.toml !== null && file.toml !== undefined) {
    netlifyConfigPath = join(dir, `${file.name}.netlify.toml`)
    writeFileSync(netlifyConfigPath, file.toml)
  }
  const { redirects, errors } = await parseAllRedirects({
    redirectsFiles,
    netlifyConfigPath,
    configRedirects: [],
    minimal: false,
  })
  const shaped = redirects.map(forEngine)
  const marked = shaped.map((rule, index) => ({ ...rule, headers: { ...rule.headers, [MARKER]: String(index) } }))
  const engine = await redirector.parseJSON(JSON.stringify(marked), options)
  const plain = await redirector.parseJSON(JSON.stringify(shaped), options)
  const cases = file.cases.map(({ path, query, token }) => {
    const cookie = cookieFor(token, options.jwtSecret, tokens)
    const match = engine.match(request(path, query, cookie))
    const check = plain.match(request(path, query, cookie))
    const summary = (m) => m && JSON.stringify([m.force404 ?? false, m.status, m.to, m.force])
    if (summary(match) !== summary(check)) {
      throw new Error(`the rule marker changed a decision: ${file.name} ${path}`)
    }
    if (match === null) return { cookie, rule: null, force404: false, status: null, to: null, target: null }
    if (match.force404) return { cookie, rule: null, force404: true, status: 404, to: null, target: null }
    return {
      cookie,
      rule: Number(match.proxyHeaders[MARKER]),
      force404: false,
      status: match.status,
      force: match.force,
      negative: match.negative,
      to: match.to,
      target: targetOf(match.to, query),
    }
  })
  return {
    name: file.name,
    errors: errors.map((error) => error.message),
    rules: redirects.map(({ from, to, status, force, conditions }) => ({
      from,
      to,
      status: status ?? null,
      force,
      roles: conditions.Role ?? null,
    })),
    cases,
  }
}

const main = async () => {
  const input = await readStdin()
  const options = { jwtSecret: input.secret, jwtRoleClaim: input.role_claim }
  const dir = mkdtempSync(join(tmpdir(), 'jwtgate-netlify-'))
  const tokens = new Map()
  try {
    const files = []
    for (const file of input.files) files.push(await runFile(file, options, dir, tokens))
    process.stdout.write(JSON.stringify({ files }))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
