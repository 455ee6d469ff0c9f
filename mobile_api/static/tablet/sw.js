// The tablet app's service worker. /tablet/sw.js prepends `self.SUIJIAN_SW` = {version,
// precache, scope}: the files of this build. Each build has its own cache; installing a new
// build fetches all of its files before it takes over, then the old cache is dropped.
//
// The shell and its files are answered from the cache (the app must open with no network);
// the API is never cached here: the app keeps its own data in IndexedDB.

/* global self, caches */
const { version, precache, scope } = self.SUIJIAN_SW;
const CACHE = `suijian-tablet-${version}`;
const PREFIX = 'suijian-tablet-';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // `reload`: straight from the server, not from the HTTP cache of an older build.
    await cache.addAll(precache.map((url) => new Request(url, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  if (request.mode === 'navigate' && url.pathname === scope) {
    // Every screen is the shell (the app routes on the fragment, never sent to the server).
    event.respondWith(fromCache(new Request(scope), request));
    return;
  }
  event.respondWith(fromCache(request, request));
});

async function fromCache(key, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key, { ignoreSearch: true });
  if (hit) return hit;
  return fetch(request);
}
