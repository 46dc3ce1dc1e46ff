// Service worker of the agents' app: pages and assets are fetched from the network first and kept, so a
// page opened once still opens with no connection; the queue page is always there. POSTs pass through:
// app.js keeps unsent forms in the phone's storage.
var CACHE = "iuran-agen-v2";
var SHELL = ["/agen/antrean", "/agen/static/app.js", "/agen/static/app.css"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/agen/sesi") return;  // live session state: never kept, never a stand-in
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) { return hit || caches.match("/agen/antrean"); });
  }));
});
