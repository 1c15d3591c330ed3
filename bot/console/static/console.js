// The console's only script: live updates over server-sent events and the ready answers.
// It never builds markup from data: queue rows arrive already escaped from the server, and
// messages are put in with textContent.
"use strict";

function liveBadge(on) {
  const badge = document.getElementById("live");
  if (!badge) return;
  badge.textContent = on ? badge.dataset.live : badge.dataset.offline;
  badge.classList.toggle("on", on);
}

function watch(url, handlers) {
  const source = new EventSource(url);
  source.onopen = () => liveBadge(true);
  source.onerror = () => {
    liveBadge(false);
    // A closed stream after an error means we were signed out: let the server redirect.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 3000);
  };
  source.addEventListener("signed_out", () => location.reload());
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (e) => handle(JSON.parse(e.data)));
  }
  return source;
}

function setupQueue() {
  const body = document.getElementById("queue");
  if (!body || !body.dataset.stream) return;
  watch(body.dataset.stream, {
    queue: (data) => { body.innerHTML = data.html; },  // escaped server-side (bot/console/pages.py)
  });
}

function addMessage(list, m) {
  if (list.querySelector(`li[data-id="${Number(m.id)}"]`)) return;
  const empty = list.querySelector("li.empty");
  if (empty) empty.remove();
  const item = document.createElement("li");
  item.className = `msg ${m.direction === "in" ? "in" : "out"} ${m.sender.replace(/[^a-z]/g, "")}`;
  item.dataset.id = String(Number(m.id));
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${m.who} · ${m.at_local}`;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = m.text;
  item.append(meta, text);
  list.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function setupCase() {
  const list = document.getElementById("messages");
  if (!list) return;
  const url = `${list.dataset.stream}?after=${Number(list.dataset.after) || 0}`;
  watch(url, {
    message: (m) => addMessage(list, m),
    case: (c) => {
      const status = document.getElementById("case-status");
      if (status) status.textContent = c.text;
      // The actions on the page depend on the status: reload unless a reply is being typed.
      const reply = document.getElementById("reply");
      if (!reply || !reply.value) location.reload();
    },
    gone: () => location.assign("/console/cases"),
  });
  for (const button of document.querySelectorAll("button.canned")) {
    button.addEventListener("click", () => {
      const reply = document.getElementById("reply");
      if (!reply) return;
      reply.value = button.dataset.text;
      reply.focus();
    });
  }
}

// A page that shows work in progress (a broadcast being sent) reloads itself.
function setupRefresh() {
  const el = document.querySelector("[data-refresh]");
  const seconds = el ? Number(el.dataset.refresh) : 0;
  if (seconds > 0) setTimeout(() => location.reload(), seconds * 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  setupQueue();
  setupCase();
  setupRefresh();
});
