// Cognito: aws-jwt-verify's CognitoJwtVerifier. It derives the JWKS URL from the user pool
// id (https://cognito-idp.<region>.amazonaws.com/...), so the keys are handed to it with its
// documented cacheJwks() and tokens are checked with verifySync(), which never fetches.
import { CognitoJwtVerifier } from "aws-jwt-verify";
import { readInput, runCases } from "./common.mjs";

const { config, cases } = await readInput();
const verifier = CognitoJwtVerifier.create({
  userPoolId: config.user_pool_id,
  tokenUse: config.token_use,
  clientId: config.client_id,
});
verifier.cacheJwks(config.jwks);

await runCases(cases, ({ token }) => {
  const payload = verifier.verifySync(token);
  return { roles: payload["cognito:groups"] ?? [] };
});
