// A real OpenID provider for jwtgate's integration tests, on 127.0.0.1 only.
// It issues RFC 9068 JWT access tokens (typ "at+jwt") through the client-credentials
// grant: resource urn:jwtgate:es256 signs with ES256, urn:jwtgate:rs256 with RS256.
// Prints {"issuer": ..., "port": ...} once listening; stops on SIGTERM.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

const RESOURCES = { 'urn:jwtgate:es256': 'ES256', 'urn:jwtgate:rs256': 'RS256' };

function privateJwk(pair, kid, alg) {
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

const keys = [
  privateJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ec-1', 'ES256'),
  privateJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'rsa-1', 'RS256'),
];

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      {
        client_id: 'jwtgate-tests',
        client_secret: 'not-a-secret-only-for-local-tests',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:jwtgate:es256',
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const alg = RESOURCES[resource];
          if (!alg) throw new errors.InvalidTarget();
          return {
            scope: 'read write',
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 300,
            jwt: { sign: { alg } },
          };
        },
      },
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
