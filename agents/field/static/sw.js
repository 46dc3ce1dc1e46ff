// Service worker of the agents' app: pages and assets are fetched from the network first and kept, so a
// page opened once still opens with no connection; the queue page is always there. POSTs pass through:
// app.js keeps unsent forms in the phone's storage (localStorage), which this worker never touches.
//
// Pages show members (lists, a member's page, receipts), so they are dropped when the agent is logged out:
// on the logout itself (the form's POST, or app.js's message), whenever the login page is opened (a session
// that ended, an account disabled) and on any answer that says Clear-Site-Data. The app shell stays.
var CACHE = "iuran-agen-v3";
var SHELL = ["/agen/antrean", "/agen/static/app.js", "/agen/static/app.css"];
var LOGOUT = "/agen/keluar";
var LOGIN = "/agen/masuk";

function isShell(url) {
  var path = new URL(url).pathname;
  return SHELL.indexOf(path) !== -1 || path.indexOf("/agen/static/") === 0;
}

function dropPages() {
  return caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return !isShell(r.url); }).map(function (r) {
        return cache.delete(r);
      }));
    });
  });
}

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

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "logged-out") event.waitUntil(dropPages());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === LOGOUT || (request.method === "GET" && url.pathname === LOGIN)) event.waitUntil(dropPages());
  if (request.method !== "GET") return;
  if (url.pathname === "/agen/sesi") return;  // live session state: never kept, never a stand-in
  event.respondWith(fetch(request).then(function (response) {
    if (response.headers.has("Clear-Site-Data")) {
      event.waitUntil(dropPages());
    } else if (response.ok && response.type === "basic" && url.pathname !== LOGIN) {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.put(request, copy); }));
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) { return hit || caches.match("/agen/antrean"); });
  }));
});
