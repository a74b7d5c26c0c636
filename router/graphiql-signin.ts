// Sign-in panel injected into the bundled (offline) Yoga GraphiQL page.
//
// The panel signs in with the `login` mutation (or takes a pasted access token), keeps the access
// token in localStorage and wraps window.fetch *before* GraphiQL's bundle loads, so every request
// GraphiQL sends to the GraphQL endpoint (introspection, queries, mutations and SSE subscriptions)
// carries `Authorization: Bearer <token>` unless the headers editor already sets Authorization, and
// `x-graphql-csrf: 1` (GraphiQL sends SSE subscriptions as GET requests, which the CSRF check refuses
// without such a header).
// Expired tokens are not sent. The refresh token is deliberately not stored.

const LOGIN_MUTATION =
  'mutation CourseGraphSignIn($input: LoginInput!) { login(input: $input) { __typename ' +
  '... on LoginSuccess { accessToken refreshToken expiresIn user { id email role } } ' +
  '... on Error { message code } } }';

const STYLE = `
#cg-auth{position:fixed;right:16px;bottom:16px;z-index:2147483000;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24}
#cg-auth *{box-sizing:border-box}
#cg-auth-toggle{display:flex;gap:6px;align-items:center;border:1px solid #c9ced6;background:#fff;border-radius:18px;padding:6px 12px;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.15);font:inherit;color:inherit}
#cg-auth-toggle.cg-in{border-color:#2f9e44}
#cg-auth-panel{position:absolute;right:0;bottom:44px;width:300px;background:#fff;border:1px solid #c9ced6;border-radius:10px;padding:14px;box-shadow:0 6px 24px rgba(0,0,0,.2)}
#cg-auth-panel[hidden],#cg-auth [hidden]{display:none!important}
#cg-auth form{display:flex;flex-direction:column;gap:8px;margin:0}
#cg-auth input,#cg-auth textarea{width:100%;padding:6px 8px;border:1px solid #c9ced6;border-radius:6px;font:inherit;color:inherit;background:#fff}
#cg-auth textarea{height:56px;resize:vertical;font-family:ui-monospace,Menlo,monospace;font-size:11px}
#cg-auth button.cg-primary,#cg-auth button.cg-secondary{padding:6px 10px;border-radius:6px;border:1px solid #1c7ed6;background:#1c7ed6;color:#fff;cursor:pointer;font:inherit}
#cg-auth button.cg-secondary{background:#fff;color:#1c7ed6}
#cg-auth .cg-or{text-align:center;color:#6a737d;font-size:12px;margin-top:4px}
#cg-auth .cg-title{font-weight:600;margin-bottom:2px}
#cg-msg{margin-top:8px;color:#c92a2a;white-space:pre-wrap}
#cg-session{display:flex;flex-direction:column;gap:8px}
`;

const MARKUP = `
<div id="cg-auth">
  <div id="cg-auth-panel" hidden>
    <form id="cg-login" autocomplete="on">
      <div class="cg-title">Sign in to CourseGraph</div>
      <input id="cg-email" name="email" type="email" placeholder="Email" autocomplete="username" required>
      <input id="cg-password" name="password" type="password" placeholder="Password" autocomplete="current-password" required>
      <button class="cg-primary" type="submit" id="cg-signin">Sign in</button>
      <div class="cg-or">or paste an access token</div>
      <textarea id="cg-token" placeholder="eyJhbGciOiJFZERTQSIs..."></textarea>
      <button class="cg-secondary" type="button" id="cg-use-token">Use token</button>
    </form>
    <div id="cg-session" hidden>
      <div class="cg-title">Signed in</div>
      <div id="cg-who"></div>
      <div id="cg-exp"></div>
      <button class="cg-secondary" type="button" id="cg-signout">Sign out</button>
    </div>
    <div id="cg-msg"></div>
  </div>
  <button id="cg-auth-toggle" type="button" title="Sign in / session"><svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="7.5" cy="15.5" r="4.5"/><path d="M10.7 12.3 21 2m-4 4 3 3m-6 0 2 2"/></svg><span id="cg-auth-label">Sign in</span></button>
</div>`;

function script(endpointPath: string): string {
  return `
(function () {
  var ENDPOINT = ${JSON.stringify(endpointPath)};
  var KEY = 'coursegraph.graphiql.session';
  var LOGIN = ${JSON.stringify(LOGIN_MUTATION)};
  function decode(part) {
    var s = part.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    return decodeURIComponent(Array.prototype.map.call(atob(s), function (c) {
      return '%' + ('00' + c.charCodeAt(0).toString(16)).slice(-2);
    }).join(''));
  }
  function claimsOf(token) { try { return JSON.parse(decode(token.split('.')[1])); } catch (e) { return null; } }
  function load() { try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) { return null; } }
  function save(session) { if (session) localStorage.setItem(KEY, JSON.stringify(session)); else localStorage.removeItem(KEY); }
  function expired(session) {
    var c = claimsOf(session.token);
    return !!(c && typeof c.exp === 'number' && c.exp * 1000 <= Date.now());
  }
  function current() { var s = load(); return s && s.token && !expired(s) ? s : null; }

  var nativeFetch = window.fetch.bind(window);
  function targetsGraphQL(input) {
    try {
      var raw = typeof input === 'string' ? input : (input instanceof URL ? input.href : input.url);
      var url = new URL(raw, location.href);
      return url.origin === location.origin && url.pathname === ENDPOINT;
    } catch (e) { return false; }
  }
  window.fetch = function (input, init) {
    if (targetsGraphQL(input)) {
      var session = current();
      var headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
      if (session && !headers.has('authorization')) headers.set('authorization', 'Bearer ' + session.token);
      // GraphiQL sends SSE subscriptions as GET: mark them as non-simple for the CSRF check
      if (!headers.has('x-graphql-csrf')) headers.set('x-graphql-csrf', '1');
      init = Object.assign({}, init || {}, { headers: headers });
    }
    return nativeFetch(input, init);
  };

  function $(id) { return document.getElementById(id); }
  function message(text) { $('cg-msg').textContent = text || ''; }
  function render() {
    var stored = load();
    var session = current();
    $('cg-login').hidden = !!session;
    $('cg-session').hidden = !session;
    $('cg-auth-toggle').classList.toggle('cg-in', !!session);
    if (session) {
      var c = claimsOf(session.token) || {};
      var who = session.email || c.sub || 'token';
      var role = session.role || c.role;
      $('cg-who').textContent = who + (role ? ' (' + role + ')' : '');
      $('cg-exp').textContent = c.exp ? 'Token expires at ' + new Date(c.exp * 1000).toLocaleTimeString() : '';
      $('cg-auth-label').textContent = who;
    } else {
      $('cg-auth-label').textContent = stored ? 'Session expired: sign in' : 'Sign in';
    }
  }
  function signedIn(session) { save(session); location.reload(); }

  function init() {
    render();
    $('cg-auth-toggle').addEventListener('click', function () { $('cg-auth-panel').hidden = !$('cg-auth-panel').hidden; });
    $('cg-login').addEventListener('submit', function (event) {
      event.preventDefault();
      message('');
      $('cg-signin').disabled = true;
      nativeFetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query: LOGIN, operationName: 'CourseGraphSignIn',
          variables: { input: { email: $('cg-email').value, password: $('cg-password').value } } })
      }).then(function (r) { return r.json(); }).then(function (body) {
        var result = body && body.data && body.data.login;
        if (result && result.__typename === 'LoginSuccess') {
          signedIn({ token: result.accessToken, email: result.user && result.user.email, role: result.user && result.user.role });
          return;
        }
        if (result && result.message) message(result.message + (result.code ? ' (' + result.code + ')' : ''));
        else if (body && body.errors && body.errors.length) message(body.errors[0].message);
        else message('Sign-in failed.');
      }).catch(function (e) { message('Sign-in failed: ' + e.message); })
        .then(function () { $('cg-signin').disabled = false; });
    });
    $('cg-use-token').addEventListener('click', function () {
      var token = $('cg-token').value.trim().replace(/^Bearer\\s+/i, '');
      var c = token.split('.').length === 3 ? claimsOf(token) : null;
      if (!c) { message('That does not look like a JWT access token.'); return; }
      if (typeof c.exp === 'number' && c.exp * 1000 <= Date.now()) { message('That token has expired.'); return; }
      signedIn({ token: token, email: c.email || c.sub, role: c.role });
    });
    $('cg-signout').addEventListener('click', function () { save(null); location.reload(); });
    setInterval(render, 30000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
`;
}

/** Adds the sign-in panel to GraphiQL's HTML, ahead of GraphiQL's own script. */
export function signInPanel(html: string, endpointPath: string): string {
  const anchor = '<div id="root"></div>';
  const index = html.indexOf(anchor);
  const injected = `${anchor}\n<style>${STYLE}</style>${MARKUP}\n<script>${script(endpointPath)}</script>\n`;
  if (index === -1) {
    // Unknown page layout: fall back to the top of <body> (still before GraphiQL's script).
    return html.replace(/<body[^>]*>/, (body) => `${body}${injected.slice(anchor.length)}`);
  }
  return html.slice(0, index) + injected + html.slice(index + anchor.length);
}
