// Supabase: @supabase/auth-js's getClaims(), its server-side check of an access token, with
// `url` pointing at the local Auth (its /.well-known/jwks.json, and /user). getClaims() checks
// asymmetric tokens itself and hands HS256 tokens (or any it has no key for) to the Auth
// server: `deferred` says so. In "cookies" mode, @supabase/ssr's createServerClient stores
// a session (setSession) and the cookies it sets are printed, as a browser would send them.
import { AuthClient } from "@supabase/auth-js";
import { createServerClient } from "@supabase/ssr";
import { readInput, runCases } from "./common.mjs";

const { config, cases, mode } = await readInput();

if (mode === "cookies") {
  const jars = [];
  for (const { access_token } of cases) {
    const cookies = [];
    const client = createServerClient(config.project_url, "anon-key", {
      cookies: { getAll: () => [], setAll: (list) => cookies.push(...list) },
      // Never connected here; given so that Node versions without a native WebSocket work.
      realtime: { transport: class NoWebSocket {} },
    });
    const { error } = await client.auth.setSession({ access_token, refresh_token: "refresh" });
    if (error) throw error;
    jars.push(cookies.map(({ name, value }) => [name, encodeURIComponent(value)]));
  }
  process.stdout.write(JSON.stringify(jars) + "\n");
} else {
  const calls = [];
  const client = new AuthClient({
    url: config.auth_url,
    headers: { apikey: "anon-key" },
    persistSession: false,
    autoRefreshToken: false,
    fetch: (url, init) => {
      calls.push(String(url));
      return fetch(url, init);
    },
  });
  await runCases(cases, async ({ token }) => {
    calls.length = 0;
    const { data, error } = await client.getClaims(token);
    const deferred = calls.some((url) => url.endsWith("/user"));
    if (error) throw Object.assign(new Error(error.message), { extra: { deferred } });
    return { deferred, sub: data.claims.sub ?? null };
  });
}
