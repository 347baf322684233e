// An OpenID Connect provider on loopback for the sign-in browser test: oidc-provider (the
// certified Node.js implementation) with one confidential client and four accounts.
//
//   node provider.js PORT REDIRECT_URI CLIENT_ID CLIENT_SECRET
//
// Prints "ready <issuer>" once it listens. The sign-in page asks for an email address and
// signs in as that account; no passwords, as everything here is a test fixture.
import http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const [port, redirectUri, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

// One allowed and verified, one verified but not on the allow-list, one unverified, and one
// whose identity token lasts a second (to see an expired sign-in refused).
const ACCOUNTS = {
  'alice@example.org': { email_verified: true },
  'carol@other.org': { email_verified: true },
  'dave@example.org': { email_verified: false },
  'brief@example.org': { email_verified: true, idTokenSeconds: 1 },
};

// Streamlit asks for prompt=select_account; the sign-in page below settles it with the login.
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  // Streamlit keeps the claims of the identity token, so they must be in it.
  conformIdTokenClaims: false,
  cookies: { keys: ['test-only-cookie-key-0123456789abcdef'] },
  features: { devInteractions: { enabled: false } },
  interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // The client is first-party: the grant is given without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, email: id, email_verified: account.email_verified }),
    };
  },
  ttl: {
    IdToken(ctx, token) {
      return ACCOUNTS[token.available?.sub]?.idTokenSeconds ?? 3600;
    },
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(uid, error) {
  return `<!doctype html><html><head><title>Test identity provider</title></head><body>
<h1>Test identity provider</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
<label>Email <input name="email" type="text" autofocus></label>
<button type="submit">Continue</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page(details.uid));
    return;
  }
  const email = (await readForm(req)).get('email') ?? '';
  if (!ACCOUNTS[email]) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(details.uid, `no account ${email}`));
    return;
  }
  await provider.interactionFinished(req, res, { login: { accountId: email }, select_account: {} },
    { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}`);
    });
    return;
  }
  callback(req, res);
});
server.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
