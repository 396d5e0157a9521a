// Entry point: who is signed in (GET /auth/session), then the sign-in or
// invite page, or the app.
import { authGet, setCsrf } from './api.js';

async function startApp(session) {
  setCsrf(session.csrf_token);
  const { startApp: start } = await import('./app.js');
  await start(session);
}

async function boot() {
  window.__canalT0 = performance.now();
  const inv = location.pathname.match(/^\/invite\/([^/]+)$/);
  if (inv) { (await import('./signin.js')).showInvite(inv[1], startApp); return; }
  const s = await authGet('/auth/session');
  if (s.ok) await startApp(s);
  else (await import('./signin.js')).showSignin(startApp);
}

boot().catch((e) => {
  console.error(e);
  document.getElementById('root').textContent = `Canal could not start: ${e.message}`;
});
