// The web chat: posts what the user types or taps, and shows replies from the event stream.
"use strict";
(function () {
  const LANGS = ["en", "th", "my", "km", "lo"];
  const store = window.localStorage;
  const session = store.getItem("chat.session") || crypto.randomUUID();
  store.setItem("chat.session", session);
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const text = document.getElementById("text");
  let strings = {};
  let lang = store.getItem("chat.lang") || "en";

  function show(message, who, buttons) {
    const item = document.createElement("li");
    item.className = who;
    item.textContent = message;
    if (buttons && buttons.length) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const b of buttons) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = b.label;
        button.addEventListener("click", () => { show(b.label, "me"); post({ payload: b.payload }); });
        row.appendChild(button);
      }
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  async function post(body, attempt) {
    body.session = session;
    body.id = body.id || crypto.randomUUID();
    try {
      const response = await fetch("/chat/messages", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (response.status >= 500 || response.status === 429) throw new Error("server " + response.status);
      status.hidden = true;
    } catch (err) {
      // Same id on retry: the server drops the duplicate if the first one did arrive.
      status.textContent = (strings[lang] || {}).webchat_offline || "Offline";
      status.hidden = false;
      setTimeout(() => post(body, (attempt || 0) + 1), Math.min(30000, 1000 * 2 ** (attempt || 0)));
    }
  }

  function applyLanguage(code) {
    lang = code;
    store.setItem("chat.lang", code);
    document.documentElement.lang = code;
    const s = strings[code] || {};
    document.getElementById("title").textContent = s.webchat_title || "";
    document.title = s.webchat_title || document.title;
    text.placeholder = s.webchat_placeholder || "";
    document.getElementById("text-label").textContent = s.webchat_placeholder || "";
    document.getElementById("send").textContent = s.webchat_send || "Send";
    for (const b of document.querySelectorAll("nav button")) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === code));
    }
  }

  async function start() {
    strings = await (await fetch("/chat/strings")).json();
    const nav = document.getElementById("languages");
    for (const code of LANGS) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.lang = code;
      button.textContent = (strings[code] || {})["lang_" + code] || code;
      button.addEventListener("click", () => { applyLanguage(code); post({ payload: "lang:" + code }); });
      nav.appendChild(button);
    }
    applyLanguage(lang);
    const after = store.getItem("chat.after:" + session) || "0";
    const events = new EventSource("/chat/events?session=" + session + "&after=" + after);
    events.addEventListener("replies", (e) => {
      store.setItem("chat.after:" + session, e.lastEventId);
      for (const r of JSON.parse(e.data).replies) show(r.text, "bot", r.buttons);
    });
    if (!store.getItem("chat.started:" + session)) {
      store.setItem("chat.started:" + session, "1");
      post({ start: true });
    }
  }

  document.getElementById("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value) { text.focus(); return; }
    show(value, "me");
    text.value = "";
    post({ text: value });
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("composer").requestSubmit(); }
  });
  start();
})();
