// Auth0: express-oauth2-jwt-bearer's auth() middleware, given the issuer and the JWKS URL
// (its documented `issuer` + `jwksUri` options) instead of discovery from the tenant.
import { auth } from "express-oauth2-jwt-bearer";
import { readInput, runCases } from "./common.mjs";

const { config, cases } = await readInput();
const checkJwt = auth({
  issuer: config.issuer,
  jwksUri: config.jwks_url,
  audience: config.audience,
  tokenSigningAlg: "RS256",
});

function verify({ token }) {
  const req = {
    headers: { authorization: `Bearer ${token}`, host: "api.example.test" },
    query: {},
    body: undefined,
    method: "GET",
    protocol: "https",
    url: "/",
    originalUrl: "/",
    is: () => false,
    get(name) {
      return this.headers[name.toLowerCase()];
    },
  };
  return new Promise((resolve, reject) => {
    checkJwt(req, {}, (error) => (error ? reject(error) : resolve({ sub: req.auth.payload.sub })));
  });
}

await runCases(cases, verify);
