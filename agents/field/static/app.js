// Perisai iuran: forms that move money are sent with fetch; with no connection they wait on the phone
// (localStorage) under the idempotency key made when the form was shown, and are sent again, unchanged,
// when the connection returns. The server returns the same receipt for the same key, so nothing is
// charged twice however often a form is sent.
(function () {
  "use strict";
  var QUEUE = "iuran-queue-v1";
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var flushing = false;
  var ZONES = { "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT" };

  // A moment as the pages write it (core/i18n.py time_label), in the page's language and the branch's time
  // zone, whatever the phone's own settings: "5 Des 2026 10.29 WIB", "5 Dec 2026 10:29 WIB".
  function timeLabel(at, zone) {
    var english = document.documentElement.lang === "en";
    var locale = english ? "en-US" : "id-ID";
    var options = { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var parts = {};
    var format;
    zone = zone || "Asia/Jakarta";
    try {
      options.timeZone = zone;
      format = new Intl.DateTimeFormat(locale, options);
    } catch (e) {  // a zone this phone does not know: its own
      delete options.timeZone;
      format = new Intl.DateTimeFormat(locale, options);
      zone = "";
    }
    format.formatToParts(new Date(at)).forEach(function (part) { parts[part.type] = part.value; });
    var clock = parts.hour + (english ? ":" : ".") + parts.minute;
    var name = ZONES[zone];
    return parts.day + " " + parts.month + " " + parts.year + " " + clock + (name ? " " + name : "");
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(QUEUE)) || []; } catch (e) { return []; }
  }
  function save(items) {
    localStorage.setItem(QUEUE, JSON.stringify(items.slice(-200)));
    render();
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function describe(item) {
    var li = el("li", null, { "data-key": item.key, "data-state": item.state });
    li.appendChild(el("strong", item.label));
    li.appendChild(el("br"));
    if (item.state === "sent") {
      li.appendChild(el("span", texts.sent + ": "));
      li.appendChild(el("a", (item.sentLabel || texts.receipt) + " " + (item.number || ""), { href: item.receiptUrl }));
    } else if (item.state === "failed") {
      li.appendChild(el("span", texts.failed + ": " + (item.message || ""), { class: "error" }));
    } else {
      li.appendChild(el("span", texts.waiting + " · " + timeLabel(item.queuedAt, item.timeZone), { "data-queued-at": "" }));
    }
    return li;
  }
  function render() {
    var items = load();
    var waiting = items.filter(function (i) { return i.state === "waiting"; });
    var banner = document.getElementById("queue-banner");
    if (banner) {
      banner.hidden = waiting.length === 0;
      document.getElementById("queue-count").textContent = String(waiting.length);
    }
    var list = document.getElementById("queue-list");
    if (list) {
      list.textContent = "";
      if (!items.length) list.appendChild(el("li", texts.empty));
      items.slice().reverse().forEach(function (item) { list.appendChild(describe(item)); });
    }
    document.querySelectorAll("form[data-queue]").forEach(function (form) {
      var key = form.querySelector("[name=idempotency_key]").value;
      var item = items.filter(function (i) { return i.key === key; })[0];
      var status = form.querySelector("[data-form-status]") || form.appendChild(el("div", null, { "data-form-status": "" }));
      status.textContent = "";
      if (item) status.appendChild(describe(item));
    });
  }
  // A send that gets no answer in time failed like one with no connection (the form waits and is sent again
  // under the same key: the server books it once whatever happened to the first try).
  var SEND_TIMEOUT_MS = window.iuranSendTimeoutMs || 20000;
  function post(url, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, SEND_TIMEOUT_MS);
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      clearTimeout(timer);
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }
  function getJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { status: response.status, body: json };
        });
      });
  }
  // A waiting form is sent with the CSRF token of the session that sends it (it may have been filled in
  // before a logout and a new login); its key_owner, signed by the server when the form was shown, makes
  // sure it is booked only for the agent who filled it in. A form queued by an older app.js (no agent) is
  // sent as it was.
  function withSession(item, live) {
    if (!item.agent) return item.body;
    var params = new URLSearchParams(item.body);
    params.set("csrf_token", live.csrf_token);
    return params.toString();
  }
  function flush() {
    if (flushing) return;
    var waiting = load().filter(function (i) { return i.state === "waiting"; });
    if (!waiting.length) return;
    flushing = true;
    // The phone's online flag is only a hint: ask the server who is logged in, and with which token.
    getJson("/agen/sesi").then(function (session) {
      var live = session.body || {};
      if (session.status !== 200 || !live.user_id) { flushing = false; render(); return; }  // logged out: it waits
      var next = waiting.filter(function (i) { return !i.agent || i.agent === live.user_id; })[0];
      if (!next) { flushing = false; return; }  // another agent's forms wait for him
      return post(next.url, withSession(next, live)).then(function (result) {
        flushing = false;
        var items = load();
        var item = items.filter(function (i) { return i.key === next.key; })[0];
        if (!item) return;
        var reason = result.body && result.body.reason;
        var retry = result.status === 401 || result.status === 408 || result.status === 429 ||
          result.status >= 500 || reason === "queued_by_other_agent" || (reason === "csrf" && item.agent);
        if (result.status >= 200 && result.status < 300) {
          item.state = "sent";
          item.receiptUrl = result.body.receipt_url || result.body.next_url;
          item.number = result.body.number;
        } else if (retry) {
          item.message = result.body.message || "HTTP " + result.status;  // keep it; try again later
          save(items);
          return;
        } else {
          item.state = "failed";
          item.message = result.body.message || "HTTP " + result.status;
        }
        save(items);
        flush();
      });
    }).catch(function () {  // still no connection: it waits, and is tried again soon (navigator.onLine is only a hint)
      flushing = false;
      setTimeout(flush, 5000);
    });
  }
  function enqueue(item) {
    var items = load().filter(function (i) { return i.key !== item.key; });
    items.push(item);
    save(items);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-queue]")) return;
    event.preventDefault();
    if (form.dataset.busy) return;  // a double tap sends once
    form.dataset.busy = "1";
    var button = form.querySelector("button[type=submit]");
    var label = button.textContent;
    button.disabled = true;
    button.textContent = texts.sending;
    var error = form.querySelector("[data-form-error]");
    if (error) error.hidden = true;
    var checked = form.querySelector("input[type=radio]:checked");
    var item = {
      key: form.querySelector("[name=idempotency_key]").value,
      url: form.getAttribute("action"),
      body: new URLSearchParams(new FormData(form)).toString(),
      label: form.dataset.queue + (checked ? " · " + checked.parentNode.textContent.replace(/\s+/g, " ").trim() : "") +
        (form.dataset.queueAmount ? " · " + (form.querySelector("[name=" + form.dataset.queueAmount + "]") || {}).value : ""),
      sentLabel: form.dataset.sent || "",
      state: "waiting",
      agent: document.body.dataset.user || "",
      queuedAt: Date.now(),
      timeZone: document.body.dataset.timezone || ""
    };
    function waitOnPhone() {
      enqueue(item);
      button.textContent = texts.queued;
    }
    // Tried even when the phone says it is offline (the flag is a hint); no answer at all means it waits.
    post(item.url, item.body).then(function (result) {
      if (result.status >= 200 && result.status < 300) {
        window.location.assign(result.body.receipt_url || result.body.next_url);
        return;
      }
      // The session ended or changed meanwhile: the form waits and is sent after the next login.
      if (result.status >= 500 || result.status === 401 || (result.body && result.body.reason === "csrf")) {
        waitOnPhone();
        if (error && result.status < 500) { error.textContent = result.body.message || ""; error.hidden = false; }
        return;
      }
      if (error) { error.textContent = result.body.message || "HTTP " + result.status; error.hidden = false; }
      delete form.dataset.busy;
      button.disabled = false;
      button.textContent = label;
    }, waitOnPhone);
  });
  // Logging out: the service worker drops the pages it kept (they show members), and keeps the app shell;
  // the forms waiting in localStorage stay, for their agent's next login.
  document.addEventListener("submit", function (event) {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (event.target.getAttribute("action") === "/agen/keluar" && worker) worker.postMessage({ type: "logged-out" });
  });
  // "Print receipt" prints (the print stylesheet leaves only the receipt).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  window.addEventListener("online", flush);
  window.addEventListener("pageshow", flush);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/agen/sw.js", { scope: "/agen/" }).catch(function () {});
  }
  render();
  flush();
  setInterval(flush, 15000);
})();
