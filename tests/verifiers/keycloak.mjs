// Keycloak: keycloak-connect's grant manager, as its bearer-only middleware runs it on an
// Authorization header. `auth-server-url` points it at the local realm, whose
// /protocol/openid-connect/certs it fetches itself.
import Keycloak from "keycloak-connect";
import { readInput, runCases } from "./common.mjs";

const { config, cases } = await readInput();
const keycloak = new Keycloak(
  {},
  {
    realm: config.realm,
    "auth-server-url": config.server_url,
    resource: config.client_id,
    "bearer-only": true,
    "verify-token-audience": config.verify_token_audience,
  },
);

await runCases(cases, async ({ token, roles = [] }) => {
  const grant = await keycloak.grantManager.createGrant({ access_token: token });
  const accessToken = grant.access_token;
  // keycloak-connect's own reading: "name" is a client role, "realm:name" a realm role.
  const held = roles.filter((r) => accessToken.hasRole(r) || accessToken.hasRole(`realm:${r}`));
  return { roles: held };
});
