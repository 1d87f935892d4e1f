// Privy: @privy-io/node's PrivyClient, verifying identity tokens (verifyIdentityToken) or
// access tokens (verifyAccessToken). `apiUrl` points its JWKS fetch
// (/v1/apps/<app id>/jwks.json) at the local server.
import { PrivyClient } from "@privy-io/node";
import { readInput, runCases } from "./common.mjs";

const { config, cases } = await readInput();
const privy = new PrivyClient({
  appId: config.app_id,
  appSecret: "not-a-secret-only-for-local-tests",
  apiUrl: config.api_url,
});
const auth = privy.utils().auth();

await runCases(cases, async ({ token, kind }) => {
  if (kind === "access") {
    const verified = await auth.verifyAccessToken(token);
    return { sub: verified.user_id };
  }
  const user = await auth.verifyIdentityToken(token);
  const email = user.linked_accounts.find((account) => account.type === "email");
  return { sub: user.id, email: email?.address ?? null };
});
