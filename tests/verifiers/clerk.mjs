// Clerk: @clerk/backend's authenticateRequest() on a request carrying the token (an
// Authorization header, or the __session and __client_uat cookies), then toAuth(), which
// signs pending sessions out. `apiUrl` points its JWKS fetch (/v1/jwks) at the local server.
import { createClerkClient } from "@clerk/backend";
import { readInput, runCases } from "./common.mjs";

const { config, cases } = await readInput();
const clerk = createClerkClient({
  secretKey: config.secret_key,
  publishableKey: config.publishable_key,
  apiUrl: config.api_url,
});

await runCases(cases, async ({ headers }) => {
  const request = new Request("https://example.test/api/items", { headers });
  const state = await clerk.authenticateRequest(request, {
    authorizedParties: config.authorized_parties,
  });
  const auth = state.toAuth();
  if (!state.isAuthenticated || !auth?.userId) {
    throw new Error(`signed out: ${state.reason ?? auth?.sessionStatus ?? ""} ${state.message ?? ""}`);
  }
  return { roles: auth.orgRole ? [auth.orgRole] : [] };
});
